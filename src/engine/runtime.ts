import type { StageCounters } from './counters.js';
import type { PacketPool } from './pool.js';
import type { TraceSink } from './trace.js';

/** Next-stage codes a stage writes into pool.next besides indexes into its `next` list. */
export const NEXT_DROP = -2;
export const NEXT_DONE = -3;

/** Where observers are told what happened; the engine calls them, stages never see them. */
export interface EngineObserver {
  /** A packet was seen at a device (capture point); `dir` 0 = received by it, 1 = sent by it. */
  observe?(pool: PacketPool, slot: number, device: number, dir: 0 | 1, stage: string): void;
  /** A packet's walk ended: delivered, consumed, or dropped (pool.verdict/pool.drop say which). */
  final?(pool: PacketPool, slot: number, stage: string): void;
  /** A stage generated a packet (ICMP error, ARP reply, RST). */
  generated?(pool: PacketPool, slot: number, stage: string): void;
}

/**
 * What `process` sees for one stage on one cluster node: its context, its counters, and the
 * calls that give each packet its fate. One instance per (stage, node), created once.
 */
export class StageRuntime<C> {
  tracing = false;
  /** Packet time of the vector's first packet, seconds (fractional). */
  now = 0;
  constructor(
    readonly stage: string,
    readonly nodeIndex: number,
    readonly nodeName: string,
    private readonly nodeNames: readonly string[],
    readonly ctx: C,
    readonly counters: StageCounters,
    readonly pool: PacketPool,
    private readonly sink: TraceSink,
    private readonly observers: readonly EngineObserver[],
    private readonly spawn: (slot: number, stage: string, node: number) => void,
  ) {}

  next(slot: number, index: number): void {
    this.pool.next[slot] = index;
  }

  drop(slot: number, reason: number): void {
    this.pool.next[slot] = NEXT_DROP;
    this.pool.drop[slot] = reason;
    this.pool.verdict[slot] = 2;
    this.counters.drops[reason]++;
  }

  done(slot: number, verdict: number): void {
    this.pool.next[slot] = NEXT_DONE;
    this.pool.verdict[slot] = verdict;
  }

  /** Tells capture observers the packet is at `device` now; free when nobody observes. */
  observe(slot: number, device: number, dir: 0 | 1): void {
    this.pool.device[slot] = device;
    for (let i = 0; i < this.observers.length; i++) this.observers[i].observe?.(this.pool, slot, device, dir, this.stage);
  }

  /** Starts a packet the stage built (ICMP error, ARP reply, fragment) at `stage` on `node`. */
  emit(slot: number, stage: string, node = this.nodeIndex): void {
    this.pool.node[slot] = node;
    for (let i = 0; i < this.observers.length; i++) this.observers[i].generated?.(this.pool, slot, this.stage);
    this.spawn(slot, stage, node);
  }

  trace(slot: number, point: string, decision: string, detail = ''): void {
    this.sink.push({
      frame: this.pool.frameNo[slot],
      packet: slot,
      // The packet's node: frame-input runs before a frame is attached and moves it to its sender's node.
      node: this.nodeNames[this.pool.node[slot]] ?? this.nodeName,
      stage: this.stage,
      point,
      decision,
      detail,
      tsSec: this.pool.tsSec[slot],
      tsNsec: this.pool.tsNsec[slot],
    });
  }
}
