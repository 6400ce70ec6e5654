/**
 * The IPVS connection table (ip_vs_conn_tab): one slot per connection in typed arrays, chained hash on
 * (proto, client address, client port) as ip_vs_conn_hashkey does, so the in and out directions both hit in O(1).
 * Expiry runs in packet time: entries die lazily when looked up past their deadline, and a few slots are
 * swept per call so the dest counters (activeconns / inactconns) follow.
 */

/** States of ip_vs_proto_tcp.c (IP_VS_TCP_S_*), plus UDP and the NONE of persistence templates. */
export const ConnState = {
  NONE: 0,
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT: 4,
  TIME_WAIT: 5,
  CLOSE: 6,
  CLOSE_WAIT: 7,
  LAST_ACK: 8,
  LISTEN: 9,
  SYNACK: 10,
  UDP: 11,
} as const;
export const CONN_STATE_NAMES = ['NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK', 'UDP'] as const;

/** `ipvsadm --set tcp tcpfin udp` (ESTABLISHED, FIN_WAIT, UDP); kube-proxy's --ipvs-*-timeout of 0 keeps these kernel defaults. */
export interface IpvsTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}
export const DEFAULT_IPVS_TIMEOUTS: IpvsTimeouts = { tcp: 900, tcpFin: 120, udp: 300 };

/** tcp_timeouts[] of ip_vs_proto_tcp.c in seconds, indexed by ConnState; tcp/tcpfin are overridden by IpvsTimeouts. */
const TCP_TIMEOUTS = [0, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120, 0];

export const F_TEMPLATE = 1;
export const F_INACTIVE = 2;

export class ConnTable {
  readonly capacity: number;
  readonly proto: Uint8Array;
  readonly caddr: Uint32Array;
  readonly cport: Uint16Array;
  readonly vaddr: Uint32Array;
  readonly vport: Uint16Array;
  readonly daddr: Uint32Array;
  readonly dport: Uint16Array;
  readonly state: Uint8Array;
  readonly flags: Uint8Array;
  /** Absolute deadline in seconds of packet time. */
  readonly expires: Float64Array;
  /** Timeout currently armed (seconds), so a refresh is expires = now + timeout. */
  readonly timeout: Float64Array;
  readonly svc: Int32Array;
  readonly dest: Int32Array;
  /** Template controlling this connection, or -1; and on templates the number of live controlled connections. */
  readonly control: Int32Array;
  readonly nControl: Int32Array;
  /** Hash chains (next slot, -1 ends; free slots chain the free list) and bucket heads; `used` 1 for a live slot. */
  readonly next: Int32Array;
  readonly heads: Int32Array;
  readonly used: Uint8Array;
  private readonly mask: number;
  /** [0] free list head, [1] sweep cursor: typed memory, so the native ipvs4-in advances the same cursor. */
  readonly cursors = new Int32Array(2);
  count = 0;
  /** Counted stats: connections created, expired, refused for lack of room. */
  readonly stats = { created: 0, expired: 0, full: 0 };

  constructor(capacity = 65536, bucketBits = 12) {
    this.capacity = capacity;
    this.proto = new Uint8Array(capacity);
    this.caddr = new Uint32Array(capacity);
    this.cport = new Uint16Array(capacity);
    this.vaddr = new Uint32Array(capacity);
    this.vport = new Uint16Array(capacity);
    this.daddr = new Uint32Array(capacity);
    this.dport = new Uint16Array(capacity);
    this.state = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.expires = new Float64Array(capacity);
    this.timeout = new Float64Array(capacity);
    this.svc = new Int32Array(capacity);
    this.dest = new Int32Array(capacity);
    this.control = new Int32Array(capacity);
    this.nControl = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.used = new Uint8Array(capacity);
    this.heads = new Int32Array(1 << bucketBits).fill(-1);
    this.mask = (1 << bucketBits) - 1;
    for (let i = 0; i < capacity; i++) this.next[i] = i + 1 < capacity ? i + 1 : -1;
  }

  /** Size of the hash table: what `ipvsadm -Ln` prints as (size=N). */
  get buckets(): number {
    return this.mask + 1;
  }

  private bucket(proto: number, addr: number, port: number): number {
    let h = Math.imul(addr ^ (proto << 24), 0x9e3779b1) ^ Math.imul(port + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** ip_vs_conn_in_get: client -> virtual. Templates match with cport 0 (and the masked client address). Returns slot or -1. */
  findIn(proto: number, caddr: number, cport: number, vaddr: number, vport: number, template: boolean): number {
    for (let i = this.heads[this.bucket(proto, caddr, cport)]; i >= 0; i = this.next[i]) {
      if (
        this.caddr[i] === caddr && this.cport[i] === cport && this.vaddr[i] === vaddr && this.vport[i] === vport &&
        this.proto[i] === proto && (this.flags[i] & F_TEMPLATE) === (template ? F_TEMPLATE : 0)
      ) return i;
    }
    return -1;
  }

  /** ip_vs_conn_out_get: real server -> client reply. */
  findOut(proto: number, daddr: number, dport: number, caddr: number, cport: number): number {
    for (let i = this.heads[this.bucket(proto, caddr, cport)]; i >= 0; i = this.next[i]) {
      if (
        this.caddr[i] === caddr && this.cport[i] === cport && this.daddr[i] === daddr && this.dport[i] === dport &&
        this.proto[i] === proto && (this.flags[i] & F_TEMPLATE) === 0
      ) return i;
    }
    return -1;
  }

  /** Returns the new slot, or -1 when the table is full. */
  insert(proto: number, caddr: number, cport: number, vaddr: number, vport: number, daddr: number, dport: number): number {
    const i = this.cursors[0];
    if (i < 0) {
      this.stats.full++;
      return -1;
    }
    this.cursors[0] = this.next[i];
    this.proto[i] = proto;
    this.caddr[i] = caddr;
    this.cport[i] = cport;
    this.vaddr[i] = vaddr;
    this.vport[i] = vport;
    this.daddr[i] = daddr;
    this.dport[i] = dport;
    this.control[i] = -1;
    this.nControl[i] = 0;
    this.used[i] = 1;
    const b = this.bucket(proto, caddr, cport);
    this.next[i] = this.heads[b];
    this.heads[b] = i;
    this.count++;
    this.stats.created++;
    return i;
  }

  /** Unlinks slot i (the caller has already released its dest counters). */
  remove(i: number): void {
    const b = this.bucket(this.proto[i], this.caddr[i], this.cport[i]);
    let p = this.heads[b];
    if (p === i) this.heads[b] = this.next[i];
    else {
      while (p >= 0 && this.next[p] !== i) p = this.next[p];
      if (p >= 0) this.next[p] = this.next[i];
    }
    this.used[i] = 0;
    this.next[i] = this.cursors[0];
    this.cursors[0] = i;
    this.count--;
  }

  isUsed(i: number): boolean {
    return this.used[i] === 1;
  }

  /** Next slot to look at for incremental expiry (wraps). */
  nextSweep(): number {
    const i = this.cursors[1];
    this.cursors[1] = i + 1 === this.capacity ? 0 : i + 1;
    return i;
  }
}

export function tcpTimeout(state: number, t: IpvsTimeouts): number {
  if (state === ConnState.ESTABLISHED) return t.tcp;
  if (state === ConnState.FIN_WAIT) return t.tcpFin;
  return TCP_TIMEOUTS[state];
}

// ip_vs_proto_tcp.c tcp_states[] (torvalds/linux; the non-secure_tcp table, INPUT and OUTPUT; dpemu always sees both directions so INPUT-ONLY is unused), rows syn/fin/ack/rst, columns by current state
// in the kernel's order sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA (mapped to ConnState values).
const sNO = 0, sES = 1, sSS = 2, sSR = 3, sFW = 4, sTW = 5, sCL = 6, sCW = 7, sLA = 8, sLI = 9, sSA = 10;
/** [dir*4 + event][state]: dir 0 = INPUT (client to server), 1 = OUTPUT (server reply). */
export const TCP_STATES: readonly (readonly number[])[] = [
  /* INPUT */
  /*syn*/ [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
  /*fin*/ [sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW],
  /*ack*/ [sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
  /*rst*/ [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR],
  /* OUTPUT */
  /*syn*/ [sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR],
  /*fin*/ [sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW],
  /*ack*/ [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES],
  /*rst*/ [sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL],
];

export const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_ACK = 0x10;
/** tcp_state_idx(): rst beats syn beats fin beats ack; -1 = no state change. */
export function tcpEvent(flags: number): number {
  if (flags & TCP_RST) return 3;
  if (flags & TCP_SYN) return 0;
  if (flags & TCP_FIN) return 1;
  if (flags & TCP_ACK) return 2;
  return -1;
}
