/**
 * Struct-of-arrays batch of frames, reused across fills so reading allocates nothing per frame.
 * Frame i occupies `buf[offset[i] .. offset[i] + caplen[i])`; `buf` is valid until the next fill.
 */
export class FrameBatch {
  readonly capacity: number;
  count = 0;
  buf: Uint8Array = new Uint8Array(0);
  /** Float64 so offsets past 4 GiB (large in-memory buffers) stay exact. */
  readonly offset: Float64Array;
  readonly caplen: Uint32Array;
  readonly wireLen: Uint32Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  readonly interfaceId: Uint32Array;
  readonly linkType: Uint32Array;
  readonly recordOffset: Float64Array;
  /** pcapng epb_flags (0 when absent). */
  readonly flags: Uint32Array;
  /**
   * Sparse: set only for frames that carry opt_comment options, each comment in file order (a block may hold
   * several); cleared on each fill only where it was set.
   */
  readonly comments: (readonly string[] | undefined)[];
  /** Indices of `comments` set during the current fill, so clearing is O(comments) not O(capacity). */
  private commentSlots: number[] = [];
  /**
   * 1 for a frame without a timestamp of its own (a pcapng Simple Packet Block): its tsSec/tsNsec are the last
   * timed frame's before it (0 when none), so packet time never jumps back; tools that show times leave it out.
   * Sparse like `comments`.
   */
  readonly untimed: Uint8Array;
  private untimedSlots: number[] = [];

  constructor(capacity = 1024) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`FrameBatch capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.offset = new Float64Array(capacity);
    this.caplen = new Uint32Array(capacity);
    this.wireLen = new Uint32Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Uint32Array(capacity);
    this.interfaceId = new Uint32Array(capacity);
    this.linkType = new Uint32Array(capacity);
    this.recordOffset = new Float64Array(capacity);
    this.flags = new Uint32Array(capacity);
    this.comments = new Array<readonly string[] | undefined>(capacity).fill(undefined);
    this.untimed = new Uint8Array(capacity);
  }

  /** Empty the batch before a fill. */
  reset(): void {
    this.count = 0;
    const slots = this.commentSlots;
    for (let i = 0; i < slots.length; i++) this.comments[slots[i]] = undefined;
    slots.length = 0;
    const u = this.untimedSlots;
    for (let i = 0; i < u.length; i++) this.untimed[u[i]] = 0;
    u.length = 0;
  }

  markUntimed(i: number): void {
    this.untimed[i] = 1;
    this.untimedSlots.push(i);
  }

  setComments(i: number, comments: readonly string[]): void {
    this.comments[i] = comments;
    this.commentSlots.push(i);
  }

  /** Frame i's bytes as a view (allocates a view object: not for the hot path). */
  data(i: number): Uint8Array {
    return this.buf.subarray(this.offset[i], this.offset[i] + this.caplen[i]);
  }
}
