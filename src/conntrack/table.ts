/**
 * One node's nf_conntrack table in typed-array memory.
 *
 * Memory layout ("maps are the contract"; mirrored in docs/conntrack.md). Struct of arrays, `max` entries:
 *
 *   Per tuple node n = entry * 2 + dir (dir 0 ORIGINAL, 1 REPLY; the kernel's tuplehash[dir]), 16 bytes each:
 *     tSrc    Uint32Array  IPv4 source, host order
 *     tDst    Uint32Array  IPv4 destination, host order
 *     tSport  Uint16Array  TCP/UDP source port; ICMP id; 0 otherwise
 *     tDport  Uint16Array  TCP/UDP destination port; ICMP (type << 8 | code); 0 otherwise
 *     tNext   Int32Array   next node in the hash chain, -1 ends it
 *   Per entry:
 *     proto     Uint8Array    IP protocol number
 *     slot      Uint8Array    0 free, 1 allocated (unconfirmed), 2 hashed (confirmed)
 *     tcpState  Uint8Array    enum tcp_conntrack (TCP only)
 *     lastIndex Uint8Array    ip_ct_tcp.last_index
 *     lastDir   Uint8Array    ip_ct_tcp.last_dir
 *     retrans   Uint8Array    ip_ct_tcp.retrans (a u8: wraps at 256, as the kernel's)
 *     lastFlags Uint8Array    ip_ct_tcp.last_flags
 *     lastWscale Uint8Array   ip_ct_tcp.last_wscale
 *     tcpFlags  Uint8Array[2] ip_ct_tcp.seen[dir].flags
 *     tdScale   Uint8Array[2] ip_ct_tcp.seen[dir].td_scale
 *     zone      Uint16Array   conntrack zone id
 *     use       Uint16Array   reference count printed as use=
 *     lastWin   Uint16Array   ip_ct_tcp.last_win
 *     mark      Uint32Array   ct mark
 *     status    Uint32Array   enum ip_conntrack_status bits
 *     tdEnd     Uint32Array[2] ip_ct_tcp.seen[dir].td_end
 *     tdMaxEnd, tdMaxWin, tdMaxAck Uint32Array[2]  ip_ct_tcp.seen[dir].td_maxend / td_maxwin / td_maxack
 *     lastSeq, lastAck, lastEnd Uint32Array  ip_ct_tcp.last_seq / last_ack / last_end
 *     deadline  Float64Array  expiry in packet time (seconds); for unconfirmed entries too
 *     streamTs  Float64Array  UDP: ct->proto.udp.stream_ts (packet time)
 *     freeStack Int32Array    free slot ids (a stack)
 *   Hash index: buckets Int32Array(nextPow2(max)) of chain heads (node ids), -1 empty.
 *
 *   Bytes per entry: 2 * 16 + 12 * 1 + 3 * 2 + 13 * 4 + 2 * 8 + 4 = 122, plus 4..8 bytes of bucket heads (<= 130).
 *
 * Lookups, updates and confirms allocate nothing; only format() and iteration helpers build strings/arrays.
 */
import type { ConntrackTimeouts } from '../scenario/model.js';
import { DpemuError } from '../util/errors.js';
import * as C from './constants.js';
import { newTcpLog, TcpLog } from './tcp-log.js';
import { TCPOPT_PRESENT, TCPOPT_SACK_PERM, TCPOPT_SCALE_MASK, TCPOPT_WSCALE } from './tcp-options.js';
import { TCP_CONNTRACKS, tcpConntrackIndex, tcpFlagsValid, tcpTransition } from './tcp-state.js';

/** Kernel constant: early_drop() looks at this many buckets from the new tuple's bucket. */
export const NF_CT_EVICTION_RANGE = 8;
/** nf_conntrack_tcp_timeout_max_retrans default (not in the scenario model). */
export const DEFAULT_TCP_MAX_RETRANS_TIMEOUT = 300;
/**
 * Buckets of the index of unconfirmed entries by original tuple (chained through tNext of the
 * ORIGINAL node, which is not in the main hash until confirm).
 */
const UNCONFIRMED_BUCKETS = 4096;

/** What `conntrack -S` prints per CPU, summed (plus the live count). */
export class ConntrackStats {
  found = 0;
  invalid = 0;
  insert = 0;
  insert_failed = 0;
  drop = 0;
  early_drop = 0;
  error = 0;
  search_restart = 0;
  clash_resolve = 0;
  chaintoolong = 0;
  /** Not in -S: entries removed because they expired. */
  expired = 0;
}

export class ConntrackError extends DpemuError {}

const SLOT_FREE = 0;
const SLOT_UNCONFIRMED = 1;
const SLOT_HASHED = 2;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** ICMP types that may start a conntrack entry (valid_new[] of nf_conntrack_proto_icmp.c). */
function icmpValidNew(type: number): boolean {
  return type === C.ICMP_ECHO || type === C.ICMP_TIMESTAMP || type === C.ICMP_INFO_REQUEST || type === C.ICMP_ADDRESS;
}

/** invmap[] of nf_conntrack_proto_icmp.c: request <-> reply; -1 when not invertible. */
export function icmpInvertType(type: number): number {
  switch (type) {
    case C.ICMP_ECHO: return C.ICMP_ECHOREPLY;
    case C.ICMP_ECHOREPLY: return C.ICMP_ECHO;
    case C.ICMP_TIMESTAMP: return C.ICMP_TIMESTAMPREPLY;
    case C.ICMP_TIMESTAMPREPLY: return C.ICMP_TIMESTAMP;
    case C.ICMP_INFO_REQUEST: return C.ICMP_INFO_REPLY;
    case C.ICMP_INFO_REPLY: return C.ICMP_INFO_REQUEST;
    case C.ICMP_ADDRESS: return C.ICMP_ADDRESSREPLY;
    case C.ICMP_ADDRESSREPLY: return C.ICMP_ADDRESS;
    default: return -1;
  }
}

/** ICMP errors that carry a quoted header and so relate to an existing entry (icmp_is_err()). */
export function icmpIsError(type: number): boolean {
  return type === C.ICMP_DEST_UNREACH || type === C.ICMP_SOURCE_QUENCH || type === C.ICMP_REDIRECT ||
    type === C.ICMP_TIME_EXCEEDED || type === C.ICMP_PARAMETERPROB;
}

/** The `dport` slot value for ICMP tuples. */
export function icmpPort(type: number, code: number): number {
  return ((type & 0xff) << 8) | (code & 0xff);
}

export interface ConntrackOptions {
  /** Hash seed (the kernel's nf_conntrack_hash_rnd); default 0 for reproducible runs. */
  seed?: number;
  /** nf_conntrack_tcp_loose (default 1: pick up mid-stream connections). */
  tcpLoose?: boolean;
  /** nf_conntrack_tcp_timeout_max_retrans (default 300). */
  tcpMaxRetransTimeout?: number;
  /** Slots gc() scans per call when no budget is given. */
  gcBudget?: number;
}

/** ConntrackTable.nativeView(): the arrays and parameters the native addon reads and writes. */
export interface ConntrackNativeView {
  readonly max: number;
  readonly mask: number;
  readonly seed: number;
  readonly tSrc: Uint32Array;
  readonly tDst: Uint32Array;
  readonly tSport: Uint16Array;
  readonly tDport: Uint16Array;
  readonly tNext: Int32Array;
  readonly proto: Uint8Array;
  readonly slot: Uint8Array;
  readonly tcpState: Uint8Array;
  readonly lastIndex: Uint8Array;
  readonly lastDir: Uint8Array;
  readonly retrans: Uint8Array;
  readonly lastFlags: Uint8Array;
  readonly lastWscale: Uint8Array;
  readonly tcpFlags: Uint8Array;
  readonly tdScale: Uint8Array;
  readonly zone: Uint16Array;
  readonly lastWin: Uint16Array;
  readonly status: Uint32Array;
  readonly tdEnd: Uint32Array;
  readonly tdMaxEnd: Uint32Array;
  readonly tdMaxWin: Uint32Array;
  readonly tdMaxAck: Uint32Array;
  readonly lastSeq: Uint32Array;
  readonly lastAck: Uint32Array;
  readonly lastEnd: Uint32Array;
  readonly deadline: Float64Array;
  readonly streamTs: Float64Array;
  readonly buckets: Int32Array;
  readonly tcpTimeouts: Float64Array;
  readonly transitions: Uint8Array;
  readonly validFlags: Uint8Array;
  /** One cell: `count` (live entries). */
  readonly count: Int32Array;
  readonly udpTimeout: number;
  readonly udpStreamTimeout: number;
}

export class ConntrackTable {
  readonly max: number;
  readonly bucketCount: number;
  readonly stats = new ConntrackStats();
  /** Live entries (allocated, confirmed or not), the kernel's nf_conntrack_count. */
  get count(): number {
    return this.countCell[0]!;
  }
  set count(v: number) {
    this.countCell[0] = v;
  }
  /** `count` in shared memory: the native conntrack hooks defer packets to TS only while the table has room. */
  private readonly countCell = new Int32Array(1);
  /** ctinfo (IP_CT_*) of the last successful lookup()/lookupRelated(). */
  lastCtinfo = C.IP_CT_NEW;
  /** Why the last TCP packet was INVALID or IGNORED (kernel log wording: tcp-log.ts), for traces; NONE otherwise. */
  readonly tcpLog = newTcpLog();

  readonly tSrc: Uint32Array;
  readonly tDst: Uint32Array;
  readonly tSport: Uint16Array;
  readonly tDport: Uint16Array;
  readonly tNext: Int32Array;
  readonly proto: Uint8Array;
  readonly slot: Uint8Array;
  readonly tcpState: Uint8Array;
  readonly lastIndex: Uint8Array;
  readonly lastDir: Uint8Array;
  readonly retrans: Uint8Array;
  readonly lastFlags: Uint8Array;
  readonly lastWscale: Uint8Array;
  readonly tcpFlags: Uint8Array;
  readonly tdScale: Uint8Array;
  readonly zone: Uint16Array;
  readonly use: Uint16Array;
  readonly lastWin: Uint16Array;
  readonly mark: Uint32Array;
  readonly status: Uint32Array;
  readonly tdEnd: Uint32Array;
  readonly tdMaxEnd: Uint32Array;
  readonly tdMaxWin: Uint32Array;
  readonly tdMaxAck: Uint32Array;
  readonly lastSeq: Uint32Array;
  readonly lastAck: Uint32Array;
  readonly lastEnd: Uint32Array;
  readonly deadline: Float64Array;
  readonly streamTs: Float64Array;
  private readonly freeStack: Int32Array;
  private freeTop: number;
  /**
   * Entries created and not yet confirmed. The kernel runs one packet through every hook before the
   * next, so a second packet of a new flow always finds the first one's confirmed entry; dpemu runs
   * a vector per stage, so a packet may meet its flow's entry still unconfirmed (fragments of one
   * datagram, say): track() reuses it instead of creating a clashing twin.
   */
  private readonly unconfirmedHeads = new Int32Array(UNCONFIRMED_BUCKETS).fill(-1);
  private readonly buckets: Int32Array;
  private readonly mask: number;
  private readonly seed: number;
  private readonly tcpLoose: boolean;
  private readonly gcBudget: number;
  private gcCursor = 0;
  /** Timeouts in seconds indexed by TCP state, then RETRANS (12) and UNACK (13). */
  private readonly tcpTimeouts: Float64Array;
  private readonly udpTimeout: number;
  private readonly udpStreamTimeout: number;
  private readonly icmpTimeout: number;
  private readonly genericTimeout: number;

  constructor(max: number, timeouts: ConntrackTimeouts, options: ConntrackOptions = {}) {
    if (!Number.isInteger(max) || max < 1 || max > 0x3fffffff) {
      throw new ConntrackError('CT_BAD_MAX', `nf_conntrack_max must be an integer in 1..${0x3fffffff}, got ${max}`);
    }
    this.max = max;
    this.bucketCount = nextPow2(max);
    this.mask = this.bucketCount - 1;
    this.seed = (options.seed ?? 0) >>> 0;
    this.tcpLoose = options.tcpLoose ?? true;
    this.gcBudget = options.gcBudget ?? 64;
    const nodes = max * 2;
    this.tSrc = new Uint32Array(nodes);
    this.tDst = new Uint32Array(nodes);
    this.tSport = new Uint16Array(nodes);
    this.tDport = new Uint16Array(nodes);
    this.tNext = new Int32Array(nodes).fill(-1);
    this.proto = new Uint8Array(max);
    this.slot = new Uint8Array(max);
    this.tcpState = new Uint8Array(max);
    this.lastIndex = new Uint8Array(max);
    this.lastDir = new Uint8Array(max);
    this.retrans = new Uint8Array(max);
    this.lastFlags = new Uint8Array(max);
    this.lastWscale = new Uint8Array(max);
    this.tcpFlags = new Uint8Array(nodes);
    this.tdScale = new Uint8Array(nodes);
    this.zone = new Uint16Array(max);
    this.use = new Uint16Array(max);
    this.lastWin = new Uint16Array(max);
    this.mark = new Uint32Array(max);
    this.status = new Uint32Array(max);
    this.tdEnd = new Uint32Array(nodes);
    this.tdMaxEnd = new Uint32Array(nodes);
    this.tdMaxWin = new Uint32Array(nodes);
    this.tdMaxAck = new Uint32Array(nodes);
    this.lastSeq = new Uint32Array(max);
    this.lastAck = new Uint32Array(max);
    this.lastEnd = new Uint32Array(max);
    this.deadline = new Float64Array(max);
    this.streamTs = new Float64Array(max);
    this.freeStack = new Int32Array(max);
    for (let i = 0; i < max; i++) this.freeStack[i] = max - 1 - i; // pop gives 0, 1, 2, ...
    this.freeTop = max;
    this.buckets = new Int32Array(this.bucketCount).fill(-1);
    const t = timeouts;
    const tt = new Float64Array(C.TCP_CONNTRACK_TIMEOUT_MAX);
    tt[C.TCP_CONNTRACK_NONE] = t.tcpSynSent;
    tt[C.TCP_CONNTRACK_SYN_SENT] = t.tcpSynSent;
    tt[C.TCP_CONNTRACK_SYN_RECV] = t.tcpSynRecv;
    tt[C.TCP_CONNTRACK_ESTABLISHED] = t.tcpEstablished;
    tt[C.TCP_CONNTRACK_FIN_WAIT] = t.tcpFinWait;
    tt[C.TCP_CONNTRACK_CLOSE_WAIT] = t.tcpCloseWait;
    tt[C.TCP_CONNTRACK_LAST_ACK] = t.tcpLastAck;
    tt[C.TCP_CONNTRACK_TIME_WAIT] = t.tcpTimeWait;
    tt[C.TCP_CONNTRACK_CLOSE] = t.tcpClose;
    tt[C.TCP_CONNTRACK_SYN_SENT2] = t.tcpSynSent; // kernel: 2 MINS, same sysctl default as syn_sent
    tt[C.TCP_CONNTRACK_RETRANS] = options.tcpMaxRetransTimeout ?? DEFAULT_TCP_MAX_RETRANS_TIMEOUT;
    tt[C.TCP_CONNTRACK_UNACK] = t.tcpUnacknowledged;
    this.tcpTimeouts = tt;
    this.udpTimeout = t.udp;
    this.udpStreamTimeout = t.udpStream;
    this.icmpTimeout = t.icmp;
    this.genericTimeout = t.generic;
  }

  /** Bytes of typed-array memory per entry (bucket heads amortized over max). */
  bytesPerEntry(): number {
    const arrays = [
      this.tSrc, this.tDst, this.tSport, this.tDport, this.tNext, this.proto, this.slot, this.tcpState, this.lastIndex,
      this.lastDir, this.retrans, this.lastFlags, this.lastWscale, this.tcpFlags, this.tdScale, this.zone, this.use,
      this.lastWin, this.mark, this.status, this.tdEnd, this.tdMaxEnd, this.tdMaxWin, this.tdMaxAck, this.lastSeq, this.lastAck, this.lastEnd, this.deadline, this.streamTs, this.freeStack,
      this.buckets,
    ];
    let total = 0;
    for (const a of arrays) total += a.byteLength;
    return total / this.max;
  }

  // ---- hashing -------------------------------------------------------------------------------------------

  private hash(proto: number, zone: number, src: number, dst: number, sport: number, dport: number): number {
    let h = this.seed ^ Math.imul(proto | (zone << 8), 0x9e3779b1);
    h = Math.imul(h ^ (src >>> 0), 0x85ebca6b);
    h = (h << 13) | (h >>> 19);
    h = Math.imul(h ^ (dst >>> 0), 0xc2b2ae35);
    h = (h << 13) | (h >>> 19);
    h = Math.imul(h ^ ((sport << 16) | dport), 0x27d4eb2f);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return (h >>> 0) & this.mask;
  }

  private nodeHash(n: number): number {
    const e = n >> 1;
    return this.hash(this.proto[e]!, this.zone[e]!, this.tSrc[n]!, this.tDst[n]!, this.tSport[n]!, this.tDport[n]!);
  }

  private link(n: number): void {
    const b = this.nodeHash(n);
    this.tNext[n] = this.buckets[b]!;
    this.buckets[b] = n;
  }

  private unlink(n: number): void {
    const b = this.nodeHash(n);
    let cur = this.buckets[b]!;
    if (cur === n) {
      this.buckets[b] = this.tNext[n]!;
    } else {
      while (cur !== -1) {
        const nx = this.tNext[cur]!;
        if (nx === n) {
          this.tNext[cur] = this.tNext[n]!;
          break;
        }
        cur = nx;
      }
    }
    this.tNext[n] = -1;
  }

  /** Node id of a hashed tuple, expired or not; -1 if absent. */
  private find(proto: number, zone: number, src: number, dst: number, sport: number, dport: number): number {
    src >>>= 0;
    dst >>>= 0;
    let n = this.buckets[this.hash(proto, zone, src, dst, sport, dport)]!;
    while (n !== -1) {
      const e = n >> 1;
      if (this.tSrc[n] === src && this.tDst[n] === dst && this.tSport[n] === sport && this.tDport[n] === dport &&
          this.proto[e] === proto && this.zone[e] === zone) return n;
      n = this.tNext[n]!;
    }
    return -1;
  }

  /**
   * nf_nat_used_tuple(): is this tuple held by a live entry other than `except` (either direction)?
   * NAT asks before it picks a source port, so two connections never share a reply tuple.
   */
  tupleInUse(proto: number, zone: number, src: number, dst: number, sport: number, dport: number, except: number): boolean {
    const n = this.find(proto, zone, src, dst, sport, dport);
    return n !== -1 && n >> 1 !== except;
  }

  // ---- lookup ------------------------------------------------------------------------------------------

  /**
   * nf_conntrack_find_get(): node id (entry * 2 + direction) of the confirmed entry holding this tuple, or -1.
   * Expired entries count as absent and are reaped on the spot (as the kernel's nf_ct_gc_expired()).
   * Sets lastCtinfo as resolve_normal_ct() would for a packet with this tuple.
   */
  lookup(proto: number, zone: number, src: number, dst: number, sport: number, dport: number, now: number): number {
    const n = this.find(proto, zone, src, dst, sport, dport);
    if (n === -1) return -1;
    const e = n >> 1;
    if (this.deadline[e]! - now <= 0) {
      this.stats.expired++;
      this.free(e);
      return -1;
    }
    this.stats.found++;
    this.lastCtinfo = this.ctinfo(n);
    return n;
  }

  /** ctinfo of a packet in this node's direction: REPLY -> ESTABLISHED_REPLY; ORIGINAL -> ESTABLISHED once a reply was seen, else NEW. */
  ctinfo(node: number): number {
    const e = node >> 1;
    if (node & 1) return C.IP_CT_ESTABLISHED_REPLY;
    const st = this.status[e]!;
    if (st & C.IPS_SEEN_REPLY) return C.IP_CT_ESTABLISHED;
    if (st & C.IPS_EXPECTED) return C.IP_CT_RELATED;
    return C.IP_CT_NEW;
  }

  /**
   * ICMP error -> the entry it is RELATED to (nf_conntrack_inet_error()). Pass the quoted (inner) header as it
   * appears in the error: the tuple is inverted and looked up, so an error travelling back to the original sender
   * finds the entry in REPLY direction (lastCtinfo = RELATED_REPLY). For a quoted ICMP packet pass its id as
   * sport and icmpPort(type, code) as dport. Returns the node id or -1; the entry's timeout is not refreshed.
   */
  lookupRelated(proto: number, zone: number, qSrc: number, qDst: number, qSport: number, qDport: number, now: number): number {
    let isport = qDport;
    let idport = qSport;
    if (proto === C.IPPROTO_ICMP) {
      const inv = icmpInvertType(qDport >> 8);
      if (inv < 0) return -1;
      isport = qSport; // id stays in place
      idport = icmpPort(inv, qDport & 0xff);
    } else if (proto !== C.IPPROTO_TCP && proto !== C.IPPROTO_UDP) {
      isport = 0;
      idport = 0;
    }
    const n = this.find(proto, zone, qDst, qSrc, isport, idport);
    if (n === -1) return -1;
    if (this.deadline[n >> 1]! - now <= 0) return -1;
    this.lastCtinfo = n & 1 ? C.IP_CT_RELATED_REPLY : C.IP_CT_RELATED;
    return n;
  }

  // ---- create / confirm / delete -----------------------------------------------------------------------

  /**
   * init_conntrack(): allocate an unconfirmed entry for a first packet. The reply tuple is the inverse of the
   * original (ICMP: request type -> reply type). Not yet in the hash: NAT may still change the reply tuple, and
   * confirm() inserts it. Returns the entry index, CT_INVALID (ICMP type that cannot start a connection;
   * invalid counted) or CT_TABLE_FULL (early drop found nothing; drop counted).
   */
  create(proto: number, zone: number, src: number, dst: number, sport: number, dport: number, now: number): number {
    let rsport = dport;
    let rdport = sport;
    if (proto === C.IPPROTO_ICMP) {
      const type = dport >> 8;
      const inv = icmpInvertType(type);
      if (inv < 0 || !icmpValidNew(type)) {
        this.stats.invalid++;
        return C.CT_INVALID;
      }
      rsport = sport;
      rdport = icmpPort(inv, dport & 0xff);
    } else if (proto !== C.IPPROTO_TCP && proto !== C.IPPROTO_UDP) {
      sport = dport = rsport = rdport = 0;
    }
    if (this.count >= this.max && !this.earlyDrop(this.hash(proto, zone, src >>> 0, dst >>> 0, sport, dport), now)) {
      this.stats.drop++;
      return C.CT_TABLE_FULL;
    }
    const e = this.freeStack[--this.freeTop]!;
    this.count++;
    const o = e * 2;
    const r = o + 1;
    this.tSrc[o] = src >>> 0;
    this.tDst[o] = dst >>> 0;
    this.tSport[o] = sport;
    this.tDport[o] = dport;
    this.tSrc[r] = dst >>> 0;
    this.tDst[r] = src >>> 0;
    this.tSport[r] = rsport;
    this.tDport[r] = rdport;
    this.tNext[o] = this.tNext[r] = -1;
    this.proto[e] = proto;
    this.slot[e] = SLOT_UNCONFIRMED;
    this.zone[e] = zone;
    this.mark[e] = 0;
    this.status[e] = 0;
    this.use[e] = 1;
    this.resetTcp(e);
    this.lastIndex[e] = C.TCP_NONE_SET;
    this.deadline[e] = now + this.genericTimeout;
    this.streamTs[e] = now + 2;
    this.lastCtinfo = C.IP_CT_NEW;
    this.rememberUnconfirmed(e);
    return e;
  }

  /**
   * __nf_conntrack_confirm(): hash both tuples. If either tuple is already in the table the entry is freed,
   * insert_failed counted and CT_CLASH returned (the kernel drops the packet; UDP clash resolution is not modelled).
   * Confirming a confirmed entry is a no-op returning the entry.
   */
  confirm(entry: number, now: number): number {
    if (this.slot[entry] === SLOT_HASHED) return entry;
    if (this.slot[entry] !== SLOT_UNCONFIRMED) return C.CT_NOT_FOUND;
    const o = entry * 2;
    const r = o + 1;
    const p = this.proto[entry]!;
    const z = this.zone[entry]!;
    for (let n = o; n <= r; n++) {
      const hit = this.find(p, z, this.tSrc[n]!, this.tDst[n]!, this.tSport[n]!, this.tDport[n]!);
      if (hit !== -1) {
        if (this.deadline[hit >> 1]! - now <= 0) {
          this.stats.expired++;
          this.free(hit >> 1);
          continue;
        }
        this.stats.insert_failed++;
        this.free(entry);
        return C.CT_CLASH;
      }
    }
    this.forgetUnconfirmed(entry);
    this.link(o);
    this.link(r);
    this.slot[entry] = SLOT_HASHED;
    this.status[entry]! |= C.IPS_CONFIRMED;
    this.stats.insert++;
    return entry;
  }

  /** Remove an entry (conntrack -D, nf_ct_kill). */
  delete(entry: number): boolean {
    if (this.slot[entry] === SLOT_FREE) return false;
    this.free(entry);
    return true;
  }

  private free(e: number): void {
    if (this.slot[e] === SLOT_HASHED) {
      this.unlink(e * 2);
      this.unlink(e * 2 + 1);
    } else if (this.slot[e] === SLOT_UNCONFIRMED) {
      this.forgetUnconfirmed(e);
    }
    this.slot[e] = SLOT_FREE;
    this.status[e] = C.IPS_DYING;
    this.use[e] = 0;
    this.freeStack[this.freeTop++] = e;
    this.count--;
  }

  /**
   * early_drop(): from the new tuple's bucket, walk up to NF_CT_EVICTION_RANGE buckets; in the first bucket
   * that has candidates, delete every confirmed entry that is not ASSURED (or is an ASSURED TCP entry in a
   * closing state, tcp_can_early_drop()); expired entries met on the way are reaped. Counts early_drop.
   */
  private unconfirmedBucket(e: number): number {
    const o = e * 2;
    return this.hash(this.proto[e]!, this.zone[e]!, this.tSrc[o]!, this.tDst[o]!, this.tSport[o]!, this.tDport[o]!) & (UNCONFIRMED_BUCKETS - 1);
  }

  private rememberUnconfirmed(e: number): void {
    const b = this.unconfirmedBucket(e);
    this.tNext[e * 2] = this.unconfirmedHeads[b]!;
    this.unconfirmedHeads[b] = e * 2;
  }

  private forgetUnconfirmed(e: number): void {
    const b = this.unconfirmedBucket(e);
    const o = e * 2;
    let n = this.unconfirmedHeads[b]!;
    if (n === o) {
      this.unconfirmedHeads[b] = this.tNext[o]!;
      this.tNext[o] = -1;
      return;
    }
    while (n !== -1) {
      const next = this.tNext[n]!;
      if (next === o) {
        this.tNext[n] = this.tNext[o]!;
        this.tNext[o] = -1;
        return;
      }
      n = next;
    }
  }

  /** An unconfirmed entry whose original tuple is this one, or -1. */
  private findUnconfirmed(proto: number, zone: number, src: number, dst: number, sport: number, dport: number): number {
    src >>>= 0;
    dst >>>= 0;
    let n = this.unconfirmedHeads[this.hash(proto, zone, src, dst, sport, dport) & (UNCONFIRMED_BUCKETS - 1)]!;
    while (n !== -1) {
      const e = n >> 1;
      if (this.tSrc[n] === src && this.tDst[n] === dst && this.tSport[n] === sport && this.tDport[n] === dport &&
          this.proto[e] === proto && this.zone[e] === zone) return e;
      n = this.tNext[n]!;
    }
    return -1;
  }

  private earlyDrop(bucket: number, now: number): boolean {
    for (let i = 0; i < NF_CT_EVICTION_RANGE && i < this.bucketCount; i++) {
      const b = (bucket + i) & this.mask;
      let drops = 0;
      let reaped = 0;
      let n = this.buckets[b]!;
      while (n !== -1) {
        const next = this.tNext[n]!;
        const e = n >> 1;
        if (this.deadline[e]! - now <= 0) {
          this.stats.expired++;
          this.free(e);
          reaped++;
        } else if (this.canEarlyDrop(e)) {
          this.free(e);
          drops++;
        }
        n = next;
        // a freed entry's other node may have been `next`; restart the bucket walk when it was unlinked
        if (n !== -1 && this.slot[n >> 1] === SLOT_FREE) n = this.buckets[b]!;
      }
      if (drops > 0) {
        this.stats.early_drop += drops;
        return true;
      }
      if (reaped > 0) return true;
    }
    return false;
  }

  private canEarlyDrop(e: number): boolean {
    const st = this.status[e]!;
    if (!(st & C.IPS_ASSURED)) return true;
    if (this.proto[e] !== C.IPPROTO_TCP) return false;
    const s = this.tcpState[e]!;
    return s === C.TCP_CONNTRACK_FIN_WAIT || s === C.TCP_CONNTRACK_LAST_ACK || s === C.TCP_CONNTRACK_TIME_WAIT ||
      s === C.TCP_CONNTRACK_CLOSE || s === C.TCP_CONNTRACK_CLOSE_WAIT;
  }

  /**
   * Reap expired confirmed entries, scanning at most `budget` slots from a rotating cursor (bounded work per call,
   * like the kernel's gc_worker). Returns how many entries were removed.
   */
  gc(now: number, budget: number = this.gcBudget): number {
    let removed = 0;
    const n = Math.min(budget, this.max);
    for (let i = 0; i < n; i++) {
      const e = this.gcCursor;
      this.gcCursor = e + 1 === this.max ? 0 : e + 1;
      if (this.slot[e] === SLOT_HASHED && this.deadline[e]! - now <= 0) {
        this.stats.expired++;
        this.free(e);
        removed++;
      }
    }
    return removed;
  }

  // ---- NAT ---------------------------------------------------------------------------------------------

  /**
   * Replace the reply tuple (what NAT does: DNAT rewrites reply src/sport, SNAT reply dst/dport) and set the
   * given status bits (e.g. IPS_DST_NAT | IPS_DST_NAT_DONE). Confirmed entries are re-indexed. Returns false
   * if the new reply tuple already belongs to another entry (the kernel's get_unique_tuple would pick another).
   */
  setReplyTuple(entry: number, src: number, dst: number, sport: number, dport: number, statusBits: number): boolean {
    const r = entry * 2 + 1;
    const hashed = this.slot[entry] === SLOT_HASHED;
    const hit = this.find(this.proto[entry]!, this.zone[entry]!, src, dst, sport, dport);
    if (hit !== -1 && hit !== r) return false;
    if (hashed) this.unlink(r);
    this.tSrc[r] = src >>> 0;
    this.tDst[r] = dst >>> 0;
    this.tSport[r] = sport;
    this.tDport[r] = dport;
    if (hashed) this.link(r);
    this.status[entry]! |= statusBits;
    return true;
  }

  /** DNAT to addr:port: the reply comes from the backend. */
  dnat(entry: number, addr: number, port: number): boolean {
    const r = entry * 2 + 1;
    return this.setReplyTuple(entry, addr, this.tDst[r]!, port, this.tDport[r]!, C.IPS_DST_NAT | C.IPS_DST_NAT_DONE);
  }

  /** SNAT (masquerade) to addr:port: the reply goes to the translated source. */
  snat(entry: number, addr: number, port: number): boolean {
    const r = entry * 2 + 1;
    return this.setReplyTuple(entry, this.tSrc[r]!, addr, this.tSport[r]!, port, C.IPS_SRC_NAT | C.IPS_SRC_NAT_DONE);
  }

  // ---- per-packet state update -------------------------------------------------------------------------

  /**
   * The protocol handler (nf_conntrack_handle_packet()) for one packet in direction node & 1, then the
   * SEEN_REPLY update of nf_conntrack_in(). TCP callers pass the flag byte, seq, ack, window and payload
   * length; other protocols ignore them. Returns CT_ACCEPT / CT_IGNORED / CT_KILLED / CT_REPEAT (accept) or
   * CT_INVALID (invalid counted; an unconfirmed entry is freed, as the kernel drops its reference).
   */
  update(node: number, now: number, tcpFlags = 0, seq = 0, ack = 0, win = 0, payloadLen = 0, tcpOpts = 0, sack = ack): number {
    const e = node >> 1;
    const dir = node & 1;
    if (this.slot[e] === SLOT_FREE) return C.CT_NOT_FOUND;
    let res: number;
    switch (this.proto[e]) {
      case C.IPPROTO_TCP: res = this.tcpPacket(e, dir, now, tcpFlags, seq >>> 0, ack >>> 0, win, payloadLen, tcpOpts, sack >>> 0); break;
      case C.IPPROTO_UDP: res = this.udpPacket(e, now); break;
      case C.IPPROTO_ICMP: this.refresh(e, now, this.icmpTimeout); res = C.CT_ACCEPT; break;
      default: this.refresh(e, now, this.genericTimeout); res = C.CT_ACCEPT;
    }
    if (res === C.CT_INVALID) {
      this.stats.invalid++;
      if (this.slot[e] === SLOT_UNCONFIRMED) this.free(e);
      return res;
    }
    if (res === C.CT_ACCEPT || res === C.CT_IGNORED) {
      if (dir === C.IP_CT_DIR_REPLY) this.status[e]! |= C.IPS_SEEN_REPLY;
    }
    return res;
  }

  private refresh(e: number, now: number, timeout: number): void {
    if (this.status[e]! & C.IPS_FIXED_TIMEOUT) return;
    this.deadline[e] = now + timeout;
  }

  private udpPacket(e: number, now: number): number {
    const st = this.status[e]!;
    if (!(st & C.IPS_CONFIRMED)) this.streamTs[e] = now + 2;
    if (st & C.IPS_SEEN_REPLY) {
      let extra = this.udpTimeout;
      let stream = false;
      if (now > this.streamTs[e]!) {
        extra = this.udpStreamTimeout;
        stream = (st & C.IPS_ASSURED) === 0;
      }
      this.refresh(e, now, extra);
      if (st & C.IPS_NAT_CLASH) return C.CT_ACCEPT;
      if (stream) this.status[e]! |= C.IPS_ASSURED;
    } else {
      this.refresh(e, now, this.udpTimeout);
    }
    return C.CT_ACCEPT;
  }

  /** memset(&ct->proto.tcp, 0): both directions' window data and the last-packet record. */
  private resetTcp(e: number): void {
    const o = e * 2;
    this.tcpState[e] = C.TCP_CONNTRACK_NONE;
    this.lastIndex[e] = 0;
    this.lastDir[e] = 0;
    this.retrans[e] = 0;
    this.lastFlags[e] = 0;
    this.lastWscale[e] = 0;
    this.lastWin[e] = 0;
    this.lastSeq[e] = this.lastAck[e] = this.lastEnd[e] = 0;
    this.stateReset(o);
    this.stateReset(o + 1);
    this.tcpFlags[o] = this.tcpFlags[o + 1] = 0;
  }

  /** nf_ct_tcp_state_reset(): one direction's window data gone, its BE_LIBERAL flag kept. */
  private stateReset(n: number): void {
    this.tdEnd[n] = this.tdMaxEnd[n] = this.tdMaxWin[n] = this.tdMaxAck[n] = 0;
    this.tdScale[n] = 0;
    this.tcpFlags[n] = this.tcpFlags[n]! & C.IP_CT_TCP_FLAG_BE_LIBERAL;
  }

  /** tcp_options() into direction node n: nothing without options, else scale and flags from them. */
  private tcpOptionsInto(n: number, opts: number): void {
    if (!(opts & TCPOPT_PRESENT)) return;
    this.tdScale[n] = opts & TCPOPT_WSCALE ? opts & TCPOPT_SCALE_MASK : 0;
    let f = this.tcpFlags[n]! & C.IP_CT_TCP_FLAG_BE_LIBERAL;
    if (opts & TCPOPT_SACK_PERM) f |= C.IP_CT_TCP_FLAG_SACK_PERM;
    if (opts & TCPOPT_WSCALE) f |= C.IP_CT_TCP_FLAG_WINDOW_SCALE;
    this.tcpFlags[n] = f;
  }

  /**
   * nf_conntrack_tcp_packet() (kernel 6.18): tcp_error's flag check, tcp_new for an unconfirmed entry, the
   * state table with its special cases (reopen, IGNORE and the SYN/ACK resync, challenge ACK, simultaneous
   * open, the RST checks against td_maxack), tcp_in_window, nf_tcp_handle_invalid, then the timeout.
   * `opts` packs tcp_options() (tcp-options.ts); `sack` is tcp_sack()'s highest SACK edge (else the ack).
   */
  private tcpPacket(e: number, dir: number, now: number, flags: number, seq: number, ack: number, win: number, len: number,
                    opts: number, sack: number): number {
    const log = this.tcpLog;
    log.code = TcpLog.NONE;
    if (!tcpFlagsValid(flags)) { log.code = TcpLog.BAD_FLAGS; return C.CT_INVALID; } // tcp_error()
    const index = tcpConntrackIndex(flags);
    const end = (seq + len + (flags & C.TCP_FLAG_SYN ? 1 : 0) + (flags & C.TCP_FLAG_FIN ? 1 : 0)) >>> 0;
    const o = e * 2;
    if (this.slot[e] === SLOT_UNCONFIRMED) {
      // tcp_new()
      const ns = tcpTransition(0, index, C.TCP_CONNTRACK_NONE);
      if (ns >= C.TCP_CONNTRACK_MAX) { log.code = TcpLog.INVALID_NEW; return C.CT_INVALID; }
      if (ns !== C.TCP_CONNTRACK_SYN_SENT && !this.tcpLoose) { log.code = TcpLog.NO_PICKUP; return C.CT_INVALID; }
      this.resetTcp(e);
      this.tdEnd[o] = end;
      this.tdMaxWin[o] = win === 0 ? 1 : win;
      if (ns === C.TCP_CONNTRACK_SYN_SENT) {
        this.tdMaxEnd[o] = end;
        this.tcpOptionsInto(o, opts);
      } else {
        // A connection picked up in the middle: assume SACK and check windows liberally.
        this.tdMaxEnd[o] = (end + this.tdMaxWin[o]!) >>> 0;
        this.tcpFlags[o] = this.tcpFlags[o + 1] = C.IP_CT_TCP_FLAG_SACK_PERM | C.IP_CT_TCP_FLAG_BE_LIBERAL;
      }
      this.lastIndex[e] = C.TCP_NONE_SET;
    }

    const oldState = this.tcpState[e]!;
    let old = oldState;
    let ns = tcpTransition(dir, index, old);
    let checkWindow = true;

    switch (ns) {
      case C.TCP_CONNTRACK_SYN_SENT:
      case C.TCP_CONNTRACK_IGNORE: {
        if (ns === C.TCP_CONNTRACK_SYN_SENT) {
          if (old < C.TCP_CONNTRACK_TIME_WAIT) break;
          if (((this.tcpFlags[o + dir]! | this.tcpFlags[o + 1 - dir]!) & C.IP_CT_TCP_FLAG_CLOSE_INIT) ||
              (this.lastDir[e] === dir && this.lastIndex[e] === C.TCP_RST_SET)) {
            // Reopen of a closed/aborted connection: delete and let the caller look up again.
            this.free(e);
            return C.CT_REPEAT;
          }
          // the kernel falls through into the IGNORE case
        }
        if (index === C.TCP_SYNACK_SET && this.lastIndex[e] === C.TCP_SYN_SET && this.lastDir[e] !== dir &&
            ack === this.lastEnd[e]) {
          // The SYN/ACK answers a SYN we ignored: client and server are in sync, we resync from it.
          old = C.TCP_CONNTRACK_SYN_SENT;
          ns = C.TCP_CONNTRACK_SYN_RECV;
          const ld = o + this.lastDir[e]!;
          this.tdEnd[ld] = this.tdMaxEnd[ld] = this.lastEnd[e]!;
          this.tdMaxWin[ld] = this.lastWin[e] === 0 ? 1 : this.lastWin[e]!;
          this.tdScale[ld] = this.lastWscale[e]!;
          this.lastFlags[e] = this.lastFlags[e]! & ~C.IP_CT_EXP_CHALLENGE_ACK;
          this.tcpFlags[ld] = this.lastFlags[e]!;
          this.stateReset(o + dir);
          break;
        }
        this.lastIndex[e] = index;
        this.lastDir[e] = dir;
        this.lastSeq[e] = seq;
        this.lastEnd[e] = end;
        this.lastWin[e] = win;
        if (index === C.TCP_SYN_SET && dir === C.IP_CT_DIR_ORIGINAL) {
          // Note the SYN's options: if the server answers it, the SYN/ACK resync above uses them.
          let lf = 0;
          let ws = 0;
          if (opts & TCPOPT_WSCALE) { lf |= C.IP_CT_TCP_FLAG_WINDOW_SCALE; ws = opts & TCPOPT_SCALE_MASK; }
          if (opts & TCPOPT_SACK_PERM) lf |= C.IP_CT_TCP_FLAG_SACK_PERM;
          if (old === C.TCP_CONNTRACK_LAST_ACK) lf |= C.IP_CT_EXP_CHALLENGE_ACK;
          this.lastFlags[e] = lf;
          this.lastWscale[e] = ws;
        }
        if (old === C.TCP_CONNTRACK_SYN_SENT && index === C.TCP_ACK_SET && dir === C.IP_CT_DIR_REPLY) this.lastAck[e] = ack;
        log.code = TcpLog.IGNORED_TRANSITION;
        log.index = index;
        log.dir = dir;
        log.state = old;
        return C.CT_IGNORED;
      }
      case C.TCP_CONNTRACK_MAX:
        log.code = TcpLog.INVALID_TRANSITION;
        log.index = index;
        log.dir = dir;
        log.state = old;
        return C.CT_INVALID;
      case C.TCP_CONNTRACK_TIME_WAIT:
        if (old === C.TCP_CONNTRACK_LAST_ACK && index === C.TCP_ACK_SET && this.lastDir[e] !== dir &&
            this.lastIndex[e] === C.TCP_SYN_SET && (this.lastFlags[e]! & C.IP_CT_EXP_CHALLENGE_ACK)) {
          this.lastFlags[e] = this.lastFlags[e]! & ~C.IP_CT_EXP_CHALLENGE_ACK; // RFC 5961 challenge ACK
          log.code = TcpLog.CHALLENGE_ACK;
          return C.CT_IGNORED;
        }
        break;
      case C.TCP_CONNTRACK_SYN_SENT2:
        this.lastFlags[e] = this.lastFlags[e]! | C.IP_CT_TCP_SIMULTANEOUS_OPEN;
        break;
      case C.TCP_CONNTRACK_SYN_RECV:
        if (dir === C.IP_CT_DIR_REPLY && index === C.TCP_ACK_SET && (this.lastFlags[e]! & C.IP_CT_TCP_SIMULTANEOUS_OPEN)) {
          ns = C.TCP_CONNTRACK_ESTABLISHED;
        }
        break;
      case C.TCP_CONNTRACK_CLOSE: {
        if (index !== C.TCP_RST_SET) break;
        if (tcpCanEarlyDrop(oldState)) { checkWindow = false; break; }
        const peer = o + 1 - dir;
        let rstChecked = false;
        if ((this.tcpFlags[peer]! & C.IP_CT_TCP_FLAG_MAXACK_SET) && this.lastIndex[e] !== C.TCP_SYN_SET) {
          // The RST's sequence number against the highest ACK the peer sent.
          const established = oldState === C.TCP_CONNTRACK_ESTABLISHED && (this.status[e]! & C.IPS_ASSURED) !== 0;
          const maxAck = this.tdMaxAck[peer]!;
          if (seq === 0 && !established) rstChecked = true;
          else if (((seq - maxAck) | 0) < 0) { log.code = TcpLog.INVALID_RST; return C.CT_INVALID; } // tcp_ignore_invalid_rst 0
          else if (!established || seq === maxAck) rstChecked = true;
          else if (this.lastIndex[e] === C.TCP_ACK_SET && this.lastDir[e] === dir && seq === this.lastEnd[e]) rstChecked = true;
          else ns = old; // not exactly at the peer's ACK: keep the state for a possible challenge ACK
        }
        if (rstChecked) break;
        const st = this.status[e]!;
        // The SYN must be the other side's: a RST from the side that sent it answers nothing of its own
        // (a newer kernel check than some published trees have; fixtures/tcp-window/seed-20261123 case-373 shows it).
        if ((((st & C.IPS_SEEN_REPLY) && this.lastIndex[e] === C.TCP_SYN_SET && this.lastDir[e] !== dir) ||
             (!(st & C.IPS_ASSURED) && this.lastIndex[e] === C.TCP_ACK_SET)) && ack === this.lastEnd[e]) {
          // RST to a SYN or ACK let through while out of sync: no window check (it may ACK what was ignored).
          checkWindow = false;
        } else if (old === C.TCP_CONNTRACK_SYN_SENT && this.lastIndex[e] === C.TCP_ACK_SET &&
                   this.lastDir[e] === C.IP_CT_DIR_REPLY && seq === this.lastAck[e]) {
          checkWindow = false; // RST answering a challenge ACK let through earlier
        }
        break;
      }
      default:
        break;
    }

    if (checkWindow) {
      const res = this.inWindow(e, dir, index, flags, seq, ack, win, end, opts, sack);
      if (res === WINDOW_IGNORE) return C.CT_IGNORED;
      if (res === WINDOW_INVALID) {
        this.handleInvalid(e, dir, index, now);
        return C.CT_INVALID;
      }
    }

    // in_window:
    this.lastIndex[e] = index;
    this.lastDir[e] = dir;
    this.tcpState[e] = ns;
    if (old !== ns && ns === C.TCP_CONNTRACK_FIN_WAIT) this.tcpFlags[o + dir] = this.tcpFlags[o + dir]! | C.IP_CT_TCP_FLAG_CLOSE_INIT;

    const t = this.tcpTimeouts;
    let timeout: number;
    if (this.retrans[e]! >= C.TCP_MAX_RETRANS && t[ns]! > t[C.TCP_CONNTRACK_RETRANS]!) timeout = t[C.TCP_CONNTRACK_RETRANS]!;
    else if (index === C.TCP_RST_SET) timeout = t[C.TCP_CONNTRACK_CLOSE]!;
    else if (((this.tcpFlags[o]! | this.tcpFlags[o + 1]!) & C.IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED) &&
             t[ns]! > t[C.TCP_CONNTRACK_UNACK]!) timeout = t[C.TCP_CONNTRACK_UNACK]!;
    else if (this.lastWin[e] === 0 && t[ns]! > t[C.TCP_CONNTRACK_RETRANS]!) timeout = t[C.TCP_CONNTRACK_RETRANS]!;
    else timeout = t[ns]!;

    const st = this.status[e]!;
    if (!(st & C.IPS_SEEN_REPLY)) {
      if (flags & C.TCP_FLAG_RST) {
        // Only answer is a RST: no connection; the kernel kills the entry at once.
        this.free(e);
        return C.CT_KILLED;
      }
      if (index === C.TCP_SYN_SET && oldState === C.TCP_CONNTRACK_SYN_SENT) return C.CT_ACCEPT; // SYN retransmit: no refresh
      if (ns === C.TCP_CONNTRACK_ESTABLISHED && timeout > t[C.TCP_CONNTRACK_UNACK]!) timeout = t[C.TCP_CONNTRACK_UNACK]!;
    } else if (!(st & C.IPS_ASSURED) && (old === C.TCP_CONNTRACK_SYN_RECV || old === C.TCP_CONNTRACK_ESTABLISHED) &&
               ns === C.TCP_CONNTRACK_ESTABLISHED) {
      this.status[e] = st | C.IPS_ASSURED;
    }
    this.refresh(e, now, timeout);
    return C.CT_ACCEPT;
  }

  /** tcp_init_sender(): a SYN or SYN/ACK (re)starts this direction's window data. */
  private initSender(s: number, r: number, dir: number, end: number, win: number, opts: number): void {
    this.tdEnd[s] = this.tdMaxEnd[s] = end;
    this.tdMaxWin[s] = win === 0 ? 1 : win;
    this.tcpOptionsInto(s, opts);
    // RFC 1323: both sides must send the option for either direction to scale.
    if (dir === C.IP_CT_DIR_REPLY &&
        !(this.tcpFlags[s]! & C.IP_CT_TCP_FLAG_WINDOW_SCALE && this.tcpFlags[r]! & C.IP_CT_TCP_FLAG_WINDOW_SCALE)) {
      this.tdScale[s] = 0;
      this.tdScale[r] = 0;
    }
  }

  /**
   * tcp_in_window() (no NAT sequence offsets: dpemu has no helpers that resize payloads). The four bounds
   * (I seq <= td_maxend, II end >= td_end - peer's td_maxwin, III sack <= peer's td_end, IV sack >= peer's
   * td_end - MAXACKWINDOW) with the kernel's outcomes: INVALID for I and III, IGNORE (let through, no state
   * change) for II and IV and for the "bytes more than expected" overshoot; an entry picked up in the middle
   * (BE_LIBERAL) accepts them all. Then the sender/receiver update and the retransmission count.
   */
  private inWindow(e: number, dir: number, index: number, flags: number, seqIn: number, ackIn: number, winRaw: number,
                   endIn: number, opts: number, sackIn: number): number {
    const s = e * 2 + dir;
    const r = e * 2 + 1 - dir;
    let seq = seqIn;
    let end = endIn;
    let ack = ackIn;
    let sack = this.tcpFlags[r]! & C.IP_CT_TCP_FLAG_SACK_PERM ? sackIn : ackIn;
    let win = winRaw;
    const state = this.tcpState[e]!;
    if (this.tdMaxWin[s] === 0) {
      if (flags & C.TCP_FLAG_SYN) {
        this.initSender(s, r, dir, end, win, opts);
        if (!(flags & C.TCP_FLAG_ACK)) return WINDOW_ACCEPT; // simultaneous open
      } else {
        // Mid-connection: its history is lost for us; use the data of the packet.
        this.tdEnd[s] = end;
        const swin = (win << this.tdScale[s]!) >>> 0;
        this.tdMaxWin[s] = swin === 0 ? 1 : swin;
        this.tdMaxEnd[s] = (end + this.tdMaxWin[s]!) >>> 0;
        if (this.tdMaxWin[r] === 0) this.tdEnd[r] = this.tdMaxEnd[r] = sack;
        else if (sack === ((this.tdEnd[r]! + 1) >>> 0)) this.tdEnd[r] = (this.tdEnd[r]! + 1) >>> 0; // reply to a keepalive
      }
    } else if ((flags & C.TCP_FLAG_SYN) && after(end, this.tdEnd[s]!) &&
               (state === C.TCP_CONNTRACK_SYN_SENT || state === C.TCP_CONNTRACK_SYN_RECV)) {
      // A re-sent SYN (or SYN/ACK) with a later sequence: re-init this direction.
      this.initSender(s, r, dir, end, win, opts);
      if (dir === C.IP_CT_DIR_REPLY && !(flags & C.TCP_FLAG_ACK)) return WINDOW_ACCEPT;
    }

    if (!(flags & C.TCP_FLAG_ACK)) {
      ack = sack = this.tdEnd[r]!; // no ACK: pretend it acked what it should
    } else if ((flags & (C.TCP_FLAG_ACK | C.TCP_FLAG_RST)) === (C.TCP_FLAG_ACK | C.TCP_FLAG_RST) && ack === 0) {
      ack = sack = this.tdEnd[r]!; // broken stacks: RST/ACK with ack 0
    }
    if ((flags & C.TCP_FLAG_RST) && seq === 0 && state === C.TCP_CONNTRACK_SYN_SENT) seq = end = this.tdEnd[s]!; // RST answering a SYN

    const liberal = (this.tcpFlags[s]! & C.IP_CT_TCP_FLAG_BE_LIBERAL) !== 0;
    const maxAckWindow = this.tdMaxWin[s]! > C.MAXACKWINCONST ? this.tdMaxWin[s]! : C.MAXACKWINCONST;
    if (!before(seq, (this.tdMaxEnd[s]! + 1) >>> 0)) {
      // I: past the receiver's window.
      const overshot = (end - this.tdMaxEnd[s]! + 1) >>> 0;
      const ackOk = after(sack, (this.tdEnd[r]! - maxAckWindow - 1) >>> 0);
      const inRecvWin = this.tdMaxWin[r] !== 0 && after(end, (this.tdEnd[s]! - this.tdMaxWin[r]! - 1) >>> 0);
      if (inRecvWin && ackOk && overshot <= this.tdMaxWin[r]! && before(sack, (this.tdEnd[r]! + 1) >>> 0)) {
        // A sender overrunning the window by a little: note the data so that its ACK stays in window.
        this.tdEnd[s] = end;
        this.tcpFlags[s] = this.tcpFlags[s]! | C.IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
        return this.windowLog(liberal, WINDOW_IGNORE, TcpLog.OVERSHOT, overshot);
      }
      return this.windowLog(liberal, WINDOW_INVALID, TcpLog.SEQ_OVER, (this.tdMaxEnd[s]! + 1) >>> 0);
    }
    // III: acknowledges data not seen yet.
    if (!before(sack, (this.tdEnd[r]! + 1) >>> 0)) return this.windowLog(liberal, WINDOW_INVALID, TcpLog.ACK_OVER, (this.tdEnd[r]! + 1) >>> 0);
    // II: already acknowledged data retransmitted.
    if (this.tdMaxWin[r] !== 0 && !after(end, (this.tdEnd[s]! - this.tdMaxWin[r]! - 1) >>> 0)) {
      return this.windowLog(liberal, WINDOW_IGNORE, TcpLog.SEQ_UNDER, (this.tdEnd[s]! - this.tdMaxWin[r]! - 1) >>> 0);
    }
    // IV: an ACK far behind (overly delayed).
    if (!after(sack, (this.tdEnd[r]! - maxAckWindow - 1) >>> 0)) {
      return this.windowLog(liberal, WINDOW_IGNORE, TcpLog.ACK_UNDER, (this.tdEnd[r]! - maxAckWindow - 1) >>> 0);
    }

    if (!(flags & C.TCP_FLAG_SYN)) win = (win << this.tdScale[s]!) >>> 0;
    // Sender.
    const swin = (win + (sack - ack)) >>> 0;
    if (this.tdMaxWin[s]! < swin) this.tdMaxWin[s] = swin;
    if (after(end, this.tdEnd[s]!)) {
      this.tdEnd[s] = end;
      this.tcpFlags[s] = this.tcpFlags[s]! | C.IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
    }
    if (flags & C.TCP_FLAG_ACK) {
      if (!(this.tcpFlags[s]! & C.IP_CT_TCP_FLAG_MAXACK_SET)) {
        this.tdMaxAck[s] = ack;
        this.tcpFlags[s] = this.tcpFlags[s]! | C.IP_CT_TCP_FLAG_MAXACK_SET;
      } else if (after(ack, this.tdMaxAck[s]!)) {
        this.tdMaxAck[s] = ack;
      }
    }
    // Receiver.
    if (this.tdMaxWin[r] !== 0 && after(end, this.tdMaxEnd[s]!)) this.tdMaxWin[r] = (this.tdMaxWin[r]! + end - this.tdMaxEnd[s]!) >>> 0;
    if (after((sack + win) >>> 0, (this.tdMaxEnd[r]! - 1) >>> 0)) {
      this.tdMaxEnd[r] = (sack + win + (win === 0 ? 1 : 0)) >>> 0;
    }
    if (ack === this.tdEnd[r]) this.tcpFlags[r] = this.tcpFlags[r]! & ~C.IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
    // Retransmissions: an ACK-class segment equal to the last one (last_* follow ACK-class segments only).
    if (index === C.TCP_ACK_SET) {
      if (this.lastDir[e] === dir && this.lastSeq[e] === seq && this.lastAck[e] === ack && this.lastEnd[e] === end &&
          this.lastWin[e] === winRaw) {
        this.retrans[e] = (this.retrans[e]! + 1) & 0xff; // a u8 in the kernel: it wraps
      } else {
        this.lastDir[e] = dir;
        this.lastSeq[e] = seq;
        this.lastAck[e] = ack;
        this.lastEnd[e] = end;
        this.lastWin[e] = winRaw;
        this.retrans[e] = 0;
      }
    }
    return WINDOW_ACCEPT;
  }

  /** nf_tcp_log_invalid(): a liberal sender's packet passes (nothing logged); otherwise the outcome, noted for traces. */
  private windowLog(liberal: boolean, outcome: number, code: number, arg: number): number {
    if (liberal) return WINDOW_ACCEPT;
    this.tcpLog.code = code;
    this.tcpLog.arg = arg;
    return outcome;
  }

  /**
   * nf_tcp_handle_invalid(): an out-of-window FIN or RST on an assured entry answering the peer's FIN/RST
   * shortens the timeout to UNACK (so a dead connection does not linger ESTABLISHED); otherwise it is noted
   * as the last packet.
   */
  private handleInvalid(e: number, dir: number, index: number, now: number): void {
    const st = this.status[e]!;
    if (!(st & C.IPS_ASSURED) || (st & C.IPS_FIXED_TIMEOUT)) return;
    if (index !== C.TCP_RST_SET && index !== C.TCP_FIN_SET) return;
    if (this.lastDir[e] !== dir && (this.lastIndex[e] === C.TCP_FIN_SET || this.lastIndex[e] === C.TCP_RST_SET)) {
      const expires = this.deadline[e]! - now;
      if (expires < 120) return;
      const timeout = this.tcpTimeouts[C.TCP_CONNTRACK_UNACK]!;
      if (expires > timeout) this.deadline[e] = now + timeout;
    } else {
      this.lastIndex[e] = index;
      this.lastDir[e] = dir;
    }
  }

  // ---- convenience: nf_conntrack_in ------------------------------------------------------------------------

  /**
   * nf_conntrack_in() for the PREROUTING/OUTPUT hook: look up, or create an unconfirmed entry, then run the
   * protocol handler. Returns the node id (>= 0; lastCtinfo says NEW/ESTABLISHED/...) or CT_INVALID /
   * CT_TABLE_FULL. A TCP reopen (CT_REPEAT) is retried once, as the kernel repeats the hook. When the handler
   * killed the entry (RST as the only answer) the old node id is still returned, with the entry gone.
   */
  track(proto: number, zone: number, src: number, dst: number, sport: number, dport: number, now: number,
        tcpFlags = 0, seq = 0, ack = 0, win = 0, payloadLen = 0, tcpOpts = 0, sack = ack): number {
    for (let attempt = 0; attempt < 2; attempt++) {
      let node = this.lookup(proto, zone, src, dst, sport, dport, now);
      if (node === -1) {
        const u = this.findUnconfirmed(proto, zone, src, dst, proto === C.IPPROTO_TCP || proto === C.IPPROTO_UDP || proto === C.IPPROTO_ICMP ? sport : 0, proto === C.IPPROTO_TCP || proto === C.IPPROTO_UDP || proto === C.IPPROTO_ICMP ? dport : 0);
        if (u !== -1) {
          node = u * 2;
          this.lastCtinfo = C.IP_CT_NEW;
        }
      }
      if (node === -1) {
        const e = this.create(proto, zone, src, dst, sport, dport, now);
        if (e < 0) return e;
        node = e * 2;
      }
      const ctinfo = this.lastCtinfo;
      const res = this.update(node, now, tcpFlags, seq, ack, win, payloadLen, tcpOpts, sack);
      if (res === C.CT_REPEAT) continue;
      if (res === C.CT_INVALID) return C.CT_INVALID;
      this.lastCtinfo = ctinfo;
      return node;
    }
    return C.CT_INVALID;
  }

  /**
   * The table's memory and parameters for the native addon (src/native/stages.ts attachConntrack):
   * the same typed arrays (no copies), the hash parameters and timeouts, and the TCP state machine
   * as data. Read-only view for callers; the addon updates entries of existing connections in place.
   */
  nativeView(): ConntrackNativeView {
    const validFlags = new Uint8Array(256);
    for (let f = 0; f < 256; f++) validFlags[f] = tcpFlagsValid(f) ? 1 : 0;
    return {
      max: this.max, mask: this.mask, seed: this.seed,
      tSrc: this.tSrc, tDst: this.tDst, tSport: this.tSport, tDport: this.tDport, tNext: this.tNext,
      proto: this.proto, slot: this.slot, tcpState: this.tcpState, lastIndex: this.lastIndex, lastDir: this.lastDir,
      retrans: this.retrans, lastFlags: this.lastFlags, lastWscale: this.lastWscale, tcpFlags: this.tcpFlags,
      tdScale: this.tdScale, zone: this.zone, lastWin: this.lastWin, status: this.status, tdEnd: this.tdEnd,
      tdMaxEnd: this.tdMaxEnd, tdMaxWin: this.tdMaxWin, tdMaxAck: this.tdMaxAck, lastSeq: this.lastSeq, lastAck: this.lastAck, lastEnd: this.lastEnd,
      deadline: this.deadline, streamTs: this.streamTs, buckets: this.buckets,
      tcpTimeouts: this.tcpTimeouts, transitions: TCP_CONNTRACKS, validFlags, count: this.countCell,
      udpTimeout: this.udpTimeout, udpStreamTimeout: this.udpStreamTimeout,
    };
  }

  // ---- inspection ----------------------------------------------------------------------------------------

  isLive(entry: number): boolean {
    return this.slot[entry] !== SLOT_FREE;
  }

  isConfirmed(entry: number): boolean {
    return this.slot[entry] === SLOT_HASHED;
  }

  /** Confirmed entries not yet expired at `now`, in slot order (not a hot path: allocates the result). */
  entries(now: number): number[] {
    const out: number[] = [];
    for (let e = 0; e < this.max; e++) if (this.slot[e] === SLOT_HASHED && this.deadline[e]! - now > 0) out.push(e);
    return out;
  }

  /** Whole seconds left, rounded down as ctnetlink_dump_timeout() does (jiffies / HZ); 0 once expired. */
  remaining(entry: number, now: number): number {
    const left = this.deadline[entry]! - now;
    return left > 0 ? Math.floor(left + 1e-9) : 0;
  }
}

/** tcp_in_window()'s outcomes (enum nf_ct_tcp_action). */
const WINDOW_ACCEPT = 0;
const WINDOW_IGNORE = 1;
const WINDOW_INVALID = 2;

/** Sequence-space comparisons (before()/after() of net/tcp.h). */
function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/** tcp_can_early_drop(): a connection already closing. */
function tcpCanEarlyDrop(state: number): boolean {
  return state === C.TCP_CONNTRACK_FIN_WAIT || state === C.TCP_CONNTRACK_LAST_ACK || state === C.TCP_CONNTRACK_TIME_WAIT ||
    state === C.TCP_CONNTRACK_CLOSE || state === C.TCP_CONNTRACK_CLOSE_WAIT;
}
