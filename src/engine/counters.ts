import { MAX_DROP_CODE } from './drop-reasons.js';

/** Words of one (stage, node) counter record: calls, packets, ns, nativePackets, then the drop counters by code. */
export const COUNTER_WORDS = 4 + MAX_DROP_CODE + 1;
const CALLS = 0;
const PACKETS = 1;
const NS = 2;
const NATIVE = 3;

/**
 * Counters of one stage on one cluster node, in the spirit of VPP's `show runtime`/`show errors`.
 * They live in a Float64Array record (COUNTER_WORDS), a view into the engine's counter memory
 * when given, so the native dispatcher bumps the very same numbers.
 */
export class StageCounters {
  readonly mem: Float64Array;
  readonly drops: Float64Array;

  constructor(mem: Float64Array = new Float64Array(COUNTER_WORDS)) {
    if (mem.length !== COUNTER_WORDS) throw new RangeError(`a counter record is ${COUNTER_WORDS} words`);
    this.mem = mem;
    this.drops = mem.subarray(4);
  }

  get calls(): number { return this.mem[CALLS]; }
  set calls(v: number) { this.mem[CALLS] = v; }
  get packets(): number { return this.mem[PACKETS]; }
  set packets(v: number) { this.mem[PACKETS] = v; }
  /** Nanoseconds spent in `process`, summed over calls. */
  get ns(): number { return this.mem[NS]; }
  set ns(v: number) { this.mem[NS] = v; }
  /** Packets the native fast path handled (the rest of `packets` ran the TypeScript stage). */
  get nativePackets(): number { return this.mem[NATIVE]; }
  set nativePackets(v: number) { this.mem[NATIVE] = v; }

  get dropTotal(): number {
    let t = 0;
    for (let i = 0; i < this.drops.length; i++) t += this.drops[i];
    return t;
  }

  reset(): void {
    this.mem.fill(0);
  }
}
