import { Drop } from '../engine/drop-reasons.js';
import { Verdict } from '../engine/pool.js';
import type { PacketPool } from '../engine/pool.js';
import type { StageRuntime } from '../engine/runtime.js';
import { defineStage } from '../engine/stage.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { ipv4HeaderChecksum } from '../packet/checksum.js';
import { ipv4ToString } from '../packet/format.js';
import { rd16, rd32, wr16 } from '../dataplane/wire.js';
import { S } from './names.js';

/** ipfrag_time: an incomplete datagram is given up after 30 s (packet time). */
const IPFRAG_TIME = 30;

interface Piece {
  off: number;
  bytes: Uint8Array;
}

interface FragQueue {
  /** The first fragment's Ethernet + IPv4 header, once it arrived. */
  head: Uint8Array | null;
  pieces: Piece[];
  /** Total payload length, known once the last fragment (MF clear) arrived; -1 before. */
  total: number;
  maxSize: number;
  deadline: number;
}

/** Per-node reassembly queues, keyed by (src, dst, id, protocol) as ip4_frag_match does. */
export class ReassemblyTable {
  readonly queues = new Map<string, FragQueue>();
  expire(now: number): number {
    let dropped = 0;
    for (const [k, q] of this.queues) {
      if (q.deadline <= now) {
        dropped += q.pieces.length;
        this.queues.delete(k);
      }
    }
    return dropped;
  }
}

/**
 * nf_defrag_ipv4: a node with conntrack (every kube-proxy node) reassembles IPv4 fragments at
 * PREROUTING before conntrack sees them; fragments wait (their walk ends here, TRACED), and the one
 * that completes the datagram carries the whole of it on, with IPCB frag_max_size (pool.aux2) =
 * its largest fragment, so ip4-output re-fragments it to min(MTU, frag_max_size) as
 * ip_do_fragment does. Expired queues are counted drops (conntrack's defrag sends no ICMP).
 */
export const ip4Defrag = defineStage<NodeContext>({
  name: S.IP4_DEFRAG,
  next: [S.NODEPORT4],
  drops: [Drop.FRAG_REASSEMBLY_TIMEOUT, Drop.FRAG_REASSEMBLY_FAILED],
  describe: 'IPv4 reassembly before conntrack (nf_defrag_ipv4)',
  process(rt, slots, n, pool) {
    const table = rt.ctx.reassembly;
    expireReassembly(rt);
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const b = pool.bufs[s];
      const l3 = pool.l3[s];
      const fw = rd16(b, l3 + 6);
      if ((fw & 0x3fff) === 0) {
        rt.next(s, 0);
        continue;
      }
      const ihl = (b[l3] & 0x0f) * 4;
      const len = rd16(b, l3 + 2);
      const off = (fw & 0x1fff) * 8;
      const key = `${rd32(b, l3 + 12)}:${rd32(b, l3 + 16)}:${rd16(b, l3 + 4)}:${b[l3 + 9]}`;
      let q = table.queues.get(key);
      if (!q) {
        q = { head: null, pieces: [], total: -1, maxSize: 0, deadline: rt.now + IPFRAG_TIME };
        table.queues.set(key, q);
      }
      const payload = b.slice(l3 + ihl, l3 + len);
      if (off + payload.length > 65535 - ihl || (!(fw & 0x2000) && q.total >= 0 && q.total !== off + payload.length)) {
        table.queues.delete(key);
        if (rt.tracing) rt.trace(s, 'routing', 'drop FRAG_REASSEMBLY_FAILED', `fragment ${off}+${payload.length} of ${key} does not fit`);
        rt.drop(s, Drop.FRAG_REASSEMBLY_FAILED);
        continue;
      }
      if (off === 0) q.head = b.slice(pool.start[s], l3 + ihl);
      if (!(fw & 0x2000)) q.total = off + payload.length;
      if (!q.pieces.some((p) => p.off === off)) q.pieces.push({ off, bytes: payload });
      q.maxSize = Math.max(q.maxSize, len);
      if (!complete(q)) {
        if (rt.tracing) rt.trace(s, 'routing', 'queued for reassembly', `fragment offset ${off} length ${payload.length} id 0x${rd16(b, l3 + 4).toString(16).padStart(4, '0')} ${ipv4ToString(rd32(b, l3 + 12))} > ${ipv4ToString(rd32(b, l3 + 16))}`);
        rt.done(s, Verdict.TRACED);
        continue;
      }
      table.queues.delete(key);
      reassemble(pool, s, q);
      if (rt.tracing) rt.trace(s, 'routing', 'reassembled', `${q.pieces.length} fragments -> ${q.total + (q.head!.length - (l3 - pool.start[s]))} byte datagram (frag_max_size ${q.maxSize})`);
      rt.next(s, 0);
    }
  },
});

/**
 * The stage's prologue: queues past ipfrag_time at the vector's time are given up (counted drops).
 * The native wrapper runs it too before taking the non-fragments, so a second run in the same
 * call (the TS stage on the fragments it leaves) finds nothing due.
 */
export function expireReassembly(rt: StageRuntime<NodeContext>): void {
  const table = rt.ctx.reassembly;
  if (table.queues.size > 0) {
    const expired = table.expire(rt.now);
    if (expired > 0) rt.counters.drops[Drop.FRAG_REASSEMBLY_TIMEOUT] += expired;
  }
}

function complete(q: FragQueue): boolean {
  if (q.total < 0 || !q.head) return false;
  q.pieces.sort((a, b) => a.off - b.off);
  let have = 0;
  for (const p of q.pieces) {
    if (p.off > have) return false;
    have = Math.max(have, p.off + p.bytes.length);
  }
  return have >= q.total;
}

/** ip_frag_reasm: the first fragment's headers, payloads in order, MF/offset cleared, new length and checksum. */
function reassemble(pool: PacketPool, s: number, q: FragQueue): void {
  const head = q.head!;
  const l2len = pool.l3[s] - pool.start[s];
  const ihl = head.length - l2len;
  pool.ensureRoom(s, head.length + q.total);
  const b = pool.bufs[s];
  const st = pool.start[s];
  b.set(head, st);
  for (const p of q.pieces) b.set(p.bytes.subarray(0, Math.min(p.bytes.length, q.total - p.off)), st + head.length + p.off);
  const l3 = st + l2len;
  wr16(b, l3 + 2, ihl + q.total);
  wr16(b, l3 + 6, 0);
  wr16(b, l3 + 10, ipv4HeaderChecksum(b, l3, ihl));
  pool.len[s] = head.length + q.total;
  pool.wireLen[s] = pool.len[s];
  pool.l3[s] = l3;
  pool.l4[s] = l3 + ihl;
  pool.aux2[s] = q.maxSize;
}
