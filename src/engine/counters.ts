import { MAX_DROP_CODE } from './drop-reasons.js';

/** Counters of one stage on one cluster node, in the spirit of VPP's `show runtime`/`show errors`. */
export class StageCounters {
  calls = 0;
  packets = 0;
  /** Nanoseconds spent in `process`, summed over calls. */
  ns = 0;
  /** Packets the native fast path handled (the rest of `packets` ran the TypeScript stage). */
  nativePackets = 0;
  readonly drops = new Float64Array(MAX_DROP_CODE + 1);

  get dropTotal(): number {
    let t = 0;
    for (let i = 0; i < this.drops.length; i++) t += this.drops[i];
    return t;
  }

  reset(): void {
    this.calls = 0;
    this.packets = 0;
    this.ns = 0;
    this.nativePackets = 0;
    this.drops.fill(0);
  }
}
