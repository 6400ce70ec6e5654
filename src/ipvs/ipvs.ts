/**
 * One node's IPVS: virtual servers, their schedulers and the connection table, behind a per-packet API
 * that fills a caller-owned IpvsResult (no allocation per packet; new connections only write typed arrays).
 */
import type { IpvsService } from './real-server.js';
import { makeScheduler, type Scheduler } from './schedulers.js';
import {
  ConnState, ConnTable, DEFAULT_IPVS_TIMEOUTS, F_INACTIVE, F_TEMPLATE, TCP_RST, TCP_STATES, TCP_SYN, tcpEvent, tcpTimeout,
  type IpvsTimeouts,
} from './conn-table.js';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Verdicts of lookupOrSchedule / lookupReply. */
export const IPVS_HIT = 0;
/** No virtual server for (proto, dst, dport): IPVS lets the packet pass untouched. */
export const IPVS_NO_SERVICE = 1;
/**
 * A virtual server without a usable real server: ip_vs_leave() sends ICMP port unreachable (for TCP too:
 * "the TCP RST packet cannot be sent, instead ICMP_PORT_UNREACH is sent") and drops the packet.
 */
export const IPVS_NO_DEST = 2;
/** The connection table is full: the kernel drops the packet. */
export const IPVS_TABLE_FULL = 3;
/** lookupReply: not a reply of a known IPVS connection. */
export const IPVS_NO_CONN = 4;
/**
 * A TCP packet without SYN (or with RST) and no connection: tcp_conn_schedule() only schedules on SYN
 * (sloppy_tcp off), so IPVS lets it pass; for a VIP bound on kube-ipvs0 the node's stack answers it.
 */
export const IPVS_PASS_NOT_SYN = 5;

/** The connection table's arrays the native ipvs4-in reads and writes (ConnTable's own). */
type SharedConnArrays = 'proto' | 'caddr' | 'cport' | 'vaddr' | 'vport' | 'daddr' | 'dport' | 'state' | 'flags' | 'expires' | 'timeout' |
  'svc' | 'dest' | 'nControl' | 'next' | 'heads' | 'used' | 'cursors';

/** Ipvs.nativeView(): the typed arrays and parameters the native ipvs4-in shares with this object. */
export interface IpvsNativeView extends Pick<ConnTable, SharedConnArrays> {
  readonly svcKeyA: Uint32Array;
  readonly svcKeyB: Uint32Array;
  readonly svcVal: Int32Array;
  readonly destCount: Int32Array;
  readonly sweep: number;
  readonly udp: number;
  /** TCP_STATES flattened: [(dir * 4 + event) * 11 + state]. */
  readonly tcpStates: Uint8Array;
  /** tcpTimeout(state) for states 0..11. */
  readonly tcpTimeouts: Float64Array;
}

export class IpvsResult {
  verdict = IPVS_NO_SERVICE;
  /** Real server (DNAT target) on HIT. */
  rsIp32 = 0;
  rsPort = 0;
  /** Virtual address and port: what a reply's source is rewritten back to (lookupReply). */
  vip32 = 0;
  vport = 0;
  svcIndex = -1;
  destIndex = -1;
  conn = -1;
  /** True when this packet created the connection (scheduled). */
  created = false;
}

const keyHi = (proto: number, port: number): number => ((proto << 16) | port) >>> 0;

export interface IpvsOptions {
  timeouts?: IpvsTimeouts;
  connCapacity?: number;
  /** Slots examined for expiry per call (amortised sweep). */
  sweepPerPacket?: number;
}

export class Ipvs {
  readonly services: IpvsService[];
  readonly schedulers: Scheduler[];
  readonly conns: ConnTable;
  readonly timeouts: IpvsTimeouts;
  private readonly svcKeyA: Uint32Array;
  private readonly svcKeyB: Uint32Array;
  private readonly svcVal: Int32Array;
  private readonly svcMask: number;
  private readonly sweep: number;

  constructor(services: IpvsService[], opts: IpvsOptions = {}) {
    this.services = services;
    this.timeouts = opts.timeouts ?? DEFAULT_IPVS_TIMEOUTS;
    this.conns = new ConnTable(opts.connCapacity ?? 65536);
    this.sweep = opts.sweepPerPacket ?? 4;
    this.schedulers = services.map((s) => {
      const sch = makeScheduler(s.scheduler);
      sch.destsChanged(s);
      return sch;
    });
    let size = 16;
    while (size < services.length * 2) size <<= 1;
    this.svcKeyA = new Uint32Array(size);
    this.svcKeyB = new Uint32Array(size);
    this.svcVal = new Int32Array(size).fill(-1);
    this.svcMask = size - 1;
    services.forEach((s, i) => {
      const proto = s.protocol === 'TCP' ? IPPROTO_TCP : IPPROTO_UDP;
      let h = this.svcHash(s.vip32, proto, s.port);
      while (this.svcVal[h] >= 0) h = (h + 1) & this.svcMask;
      this.svcKeyA[h] = s.vip32 >>> 0;
      this.svcKeyB[h] = keyHi(proto, s.port);
      this.svcVal[h] = i;
    });
  }

  /**
   * What the native ipvs4-in reads and writes (native/src/ip4.cc): the connection table's arrays, the
   * virtual-server hash, the sweep size, the TCP state table and timeouts per state. `destCount` is per
   * service (a dest index below it exists); the caller refreshes it with `destCounts` before a run.
   */
  nativeView(): IpvsNativeView {
    const t = this.conns;
    const tcpStates = new Uint8Array(8 * 11);
    TCP_STATES.forEach((row, r) => row.forEach((ns, st) => { tcpStates[r * 11 + st] = ns; }));
    const tcpTimeouts = new Float64Array(12);
    for (let st = 0; st < 12; st++) tcpTimeouts[st] = tcpTimeout(st, this.timeouts);
    return {
      proto: t.proto, caddr: t.caddr, cport: t.cport, vaddr: t.vaddr, vport: t.vport, daddr: t.daddr, dport: t.dport,
      state: t.state, flags: t.flags, expires: t.expires, timeout: t.timeout, svc: t.svc, dest: t.dest, nControl: t.nControl,
      next: t.next, heads: t.heads, used: t.used, cursors: t.cursors,
      svcKeyA: this.svcKeyA, svcKeyB: this.svcKeyB, svcVal: this.svcVal, destCount: this.destCounts(new Int32Array(this.services.length)),
      sweep: this.sweep, udp: this.timeouts.udp, tcpStates, tcpTimeouts,
    };
  }

  /** Fills `out` (one per service) with each service's dest count. */
  destCounts(out: Int32Array): Int32Array {
    for (let i = 0; i < this.services.length; i++) out[i] = this.services[i].dests.length;
    return out;
  }

  private svcHash(addr: number, proto: number, port: number): number {
    const h = Math.imul(addr ^ Math.imul(keyHi(proto, port), 0x85ebca6b), 0x9e3779b1);
    return (h ^ (h >>> 16)) & this.svcMask;
  }

  /** ip_vs_service_find: O(1); -1 when (proto, vip, vport) is not a virtual server. */
  findService(proto: number, vip: number, vport: number): number {
    const b = keyHi(proto, vport);
    for (let h = this.svcHash(vip, proto, vport); this.svcVal[h] >= 0; h = (h + 1) & this.svcMask) {
      if (this.svcKeyA[h] === vip >>> 0 && this.svcKeyB[h] === b) return this.svcVal[h];
    }
    return -1;
  }

  /** Call after changing a service's dests or weights (add_dest/del_dest/upd_dest). */
  destsChanged(svcIndex: number): void {
    this.schedulers[svcIndex].destsChanged(this.services[svcIndex]);
  }

  /**
   * A client packet to (dst, dport): the existing connection, or a new one from the scheduler
   * (through the persistence template when the service is persistent). tcpFlags drive the TCP state.
   */
  lookupOrSchedule(proto: number, src: number, sport: number, dst: number, dport: number, tcpFlags: number, now: number, out: IpvsResult): number {
    this.amortisedExpire(now);
    const t = this.conns;
    src >>>= 0;
    dst >>>= 0;
    out.created = false;
    let c = t.findIn(proto, src, sport, dst, dport, false);
    if (c >= 0 && t.expires[c] <= now) {
      this.expireSlot(c);
      c = -1;
    }
    if (c < 0) {
      const si = this.findService(proto, dst, dport);
      out.svcIndex = si;
      if (si < 0) return (out.verdict = IPVS_NO_SERVICE);
      if (proto === IPPROTO_TCP && ((tcpFlags & TCP_SYN) === 0 || (tcpFlags & TCP_RST) !== 0)) return (out.verdict = IPVS_PASS_NOT_SYN);
      const svc = this.services[si];
      let di = -1;
      let tmpl = -1;
      if (svc.persistentTimeout > 0) {
        // ip_vs_sched_persist: template <proto, caddr & mask, 0, vaddr, vport>
        const masked = (src & svc.netmask32) >>> 0;
        tmpl = t.findIn(proto, masked, 0, dst, dport, true);
        if (tmpl >= 0 && t.expires[tmpl] <= now && t.nControl[tmpl] === 0) {
          this.expireSlot(tmpl);
          tmpl = -1;
        }
        if (tmpl >= 0 && !this.destUsable(si, t.dest[tmpl])) tmpl = -1;
        if (tmpl >= 0) di = t.dest[tmpl];
        else {
          di = this.schedulers[si].schedule(svc, src, sport, dst);
          if (di < 0) return (out.verdict = IPVS_NO_DEST);
          tmpl = t.insert(proto, masked, 0, dst, dport, svc.dests[di].ip32, svc.dests[di].port);
          if (tmpl < 0) return (out.verdict = IPVS_TABLE_FULL);
          t.flags[tmpl] = F_TEMPLATE;
          t.state[tmpl] = ConnState.NONE;
          t.svc[tmpl] = si;
          t.dest[tmpl] = di;
          t.timeout[tmpl] = svc.persistentTimeout;
          svc.dests[di].persistConns++;
        }
        // ip_vs_conn_put(ct) re-arms the template timer on every use
        t.expires[tmpl] = now + svc.persistentTimeout;
      } else {
        di = this.schedulers[si].schedule(svc, src, sport, dst);
        if (di < 0) return (out.verdict = IPVS_NO_DEST);
      }
      const d = svc.dests[di];
      c = t.insert(proto, src, sport, dst, dport, d.ip32, d.port);
      if (c < 0) return (out.verdict = IPVS_TABLE_FULL);
      t.svc[c] = si;
      t.dest[c] = di;
      // dest->conn_flags carries IP_VS_CONN_F_INACTIVE: every new connection starts inactive
      t.flags[c] = F_INACTIVE;
      d.inactConns++;
      if (tmpl >= 0) {
        t.control[c] = tmpl;
        t.nControl[tmpl]++;
      }
      t.state[c] = proto === IPPROTO_TCP ? ConnState.NONE : ConnState.UDP;
      t.timeout[c] = proto === IPPROTO_TCP ? 0 : this.timeouts.udp;
      out.created = true;
    }
    this.stateTransition(c, proto, tcpFlags, 0, now);
    return this.fill(c, out);
  }

  /** A packet from a real server back to a client (the NAT reply direction, ip_vs_out). */
  lookupReply(proto: number, src: number, sport: number, dst: number, dport: number, tcpFlags: number, now: number, out: IpvsResult): number {
    const t = this.conns;
    out.created = false;
    const c = t.findOut(proto, src >>> 0, sport, dst >>> 0, dport);
    if (c < 0 || t.expires[c] <= now) {
      if (c >= 0) this.expireSlot(c);
      out.svcIndex = -1;
      return (out.verdict = IPVS_NO_CONN);
    }
    this.stateTransition(c, proto, tcpFlags, 1, now);
    return this.fill(c, out);
  }

  private fill(c: number, out: IpvsResult): number {
    const t = this.conns;
    out.conn = c;
    out.svcIndex = t.svc[c];
    out.destIndex = t.dest[c];
    out.rsIp32 = t.daddr[c];
    out.rsPort = t.dport[c];
    out.vip32 = t.vaddr[c];
    out.vport = t.vport[c];
    return (out.verdict = IPVS_HIT);
  }

  private destUsable(si: number, di: number): boolean {
    const d = this.services[si].dests[di];
    return d !== undefined && d.weight > 0 && !d.overloaded;
  }

  /** set_tcp_state(): move between activeconns and inactconns on entering / leaving ESTABLISHED, re-arm the timeout. */
  private stateTransition(c: number, proto: number, tcpFlags: number, dir: number, now: number): void {
    const t = this.conns;
    if (proto !== IPPROTO_TCP) {
      t.expires[c] = now + this.timeouts.udp;
      return;
    }
    const ev = tcpEvent(tcpFlags);
    if (ev >= 0) {
      const ns = TCP_STATES[dir * 4 + ev][t.state[c]];
      const d = this.services[t.svc[c]]?.dests[t.dest[c]];
      if (d) {
        const inactive = (t.flags[c] & F_INACTIVE) !== 0;
        if (!inactive && ns !== ConnState.ESTABLISHED) {
          d.activeConns--;
          d.inactConns++;
          t.flags[c] |= F_INACTIVE;
        } else if (inactive && ns === ConnState.ESTABLISHED) {
          d.activeConns++;
          d.inactConns--;
          t.flags[c] &= ~F_INACTIVE;
        }
      }
      t.state[c] = ns;
      t.timeout[c] = tcpTimeout(ns, this.timeouts);
    }
    t.expires[c] = now + t.timeout[c];
  }

  private expireSlot(c: number): void {
    const t = this.conns;
    const d = this.services[t.svc[c]]?.dests[t.dest[c]];
    if (t.flags[c] & F_TEMPLATE) {
      if (d) d.persistConns--;
    } else {
      if (d) {
        if (t.flags[c] & F_INACTIVE) d.inactConns--;
        else d.activeConns--;
      }
      const ct = t.control[c];
      if (ct >= 0) t.nControl[ct]--;
    }
    t.remove(c);
    t.stats.expired++;
  }

  private amortisedExpire(now: number): void {
    const t = this.conns;
    for (let k = 0; k < this.sweep; k++) {
      const i = t.nextSweep();
      if (t.isUsed(i) && t.expires[i] <= now && !((t.flags[i] & F_TEMPLATE) && t.nControl[i] > 0)) this.expireSlot(i);
    }
  }

  /**
   * Expire everything due at `now`. A template with live controlled connections is kept
   * (ip_vs_conn_expire re-arms it while n_control > 0).
   */
  expire(now: number): void {
    const t = this.conns;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < t.capacity; i++) {
        if (!t.isUsed(i) || t.expires[i] > now) continue;
        if ((t.flags[i] & F_TEMPLATE) && t.nControl[i] > 0) continue;
        this.expireSlot(i);
      }
    }
  }
}
