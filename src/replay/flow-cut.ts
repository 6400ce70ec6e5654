/**
 * Per-flow order across a vector. Stages run a whole vector before the next stage does, so two
 * frames of one connection in one vector could be seen out of order downstream (a SYN-ACK at the
 * server's node before the SYN got there). The replay cuts a vector before a frame whose flow
 * (symmetric IPv4 5-tuple hash, or "not IPv4") is already in it, as the kernel keeps per-flow order.
 */
export class FlowCut {
  private readonly stamp: Uint32Array;
  private readonly mask: number;
  private gen = 1;

  constructor(bits = 12) {
    this.stamp = new Uint32Array(1 << bits);
    this.mask = (1 << bits) - 1;
  }

  /** Starts a new vector. */
  reset(): void {
    this.gen++;
    if (this.gen === 0xffffffff) {
      this.stamp.fill(0);
      this.gen = 1;
    }
  }

  /** True when the frame's flow is already in the current vector; otherwise records it. */
  seen(b: Uint8Array, off: number, len: number): boolean {
    const h = flowHash(b, off, len) & this.mask;
    if (this.stamp[h] === this.gen) return true;
    this.stamp[h] = this.gen;
    return false;
  }
}

function flowHash(b: Uint8Array, o: number, len: number): number {
  if (len < 34 || b[o + 12] !== 0x08 || b[o + 13] !== 0x00) return 0;
  const ip = o + 14;
  const src = ((b[ip + 12] << 24) | (b[ip + 13] << 16) | (b[ip + 14] << 8) | b[ip + 15]) >>> 0;
  const dst = ((b[ip + 16] << 24) | (b[ip + 17] << 16) | (b[ip + 18] << 8) | b[ip + 19]) >>> 0;
  const proto = b[ip + 9];
  const l4 = ip + (b[ip] & 0x0f) * 4;
  let p1 = 0;
  let p2 = 0;
  // Fragments hash by addresses only: every fragment of a datagram lands in one flow.
  const fragWord = ((b[ip + 6] << 8) | b[ip + 7]) & 0x3fff;
  if (fragWord === 0 && (proto === 6 || proto === 17) && l4 + 4 <= o + len) {
    p1 = (b[l4] << 8) | b[l4 + 1];
    p2 = (b[l4 + 2] << 8) | b[l4 + 3];
  }
  const a = src < dst ? src : dst;
  const c = src < dst ? dst : src;
  const lo = p1 < p2 ? p1 : p2;
  const hi = p1 < p2 ? p2 : p1;
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ c ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ ((lo << 16) | hi) ^ (h >>> 13), 0x27d4eb2f);
  h ^= proto;
  return (h ^ (h >>> 16)) >>> 0;
}
