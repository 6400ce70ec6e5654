import type { PacketPool } from './pool.js';
import type { StageRuntime } from './runtime.js';

/**
 * A stage is a graph node registered as data (VPP's VLIB_REGISTER_NODE, flattened): its name,
 * the names of the stages it may send packets to, the drop reasons it may give, and `process`,
 * which handles one vector of packets on one cluster node. `process` computes only; the engine
 * times it, counts, and moves packets to their next stage.
 *
 * For each packet in the vector `process` calls exactly one of:
 *   rt.next(slot, i)        continue at `next[i]`
 *   rt.drop(slot, reason)   drop with a reason from drop-reasons.ts (counted)
 *   rt.done(slot, verdict)  the packet's walk ends (delivered, consumed)
 */
export interface StageDef<C> {
  readonly name: string;
  readonly next: readonly string[];
  readonly drops?: readonly number[];
  /** One line shown by --stats beside the stage, e.g. what it models. */
  readonly describe?: string;
  process(rt: StageRuntime<C>, slots: Int32Array, count: number, pool: PacketPool): void;
}

export function defineStage<C>(def: StageDef<C>): StageDef<C> {
  return def;
}
