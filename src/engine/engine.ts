import { DpemuError } from '../util/errors.js';
import { COUNTER_WORDS, StageCounters } from './counters.js';
import { PacketPool } from './pool.js';
import { NEXT_DONE, NEXT_DROP, StageRuntime, type EngineObserver } from './runtime.js';
import type { StageDef } from './stage.js';
import type { TraceRecord, TraceSink } from './trace.js';

export class EngineConfigError extends DpemuError {
  constructor(message: string) {
    super('ENGINE_CONFIG', message);
  }
}

export interface EngineNode<C> {
  readonly name: string;
  readonly ctx: C;
}

export interface EngineOptions<C> {
  readonly stages: readonly StageDef<C>[];
  readonly nodes: readonly EngineNode<C>[];
  readonly pool?: PacketPool;
  /** Most packets handed to one `process` call (VPP's frame size is 256). */
  readonly vectorSize?: number;
  readonly tracing?: boolean;
  readonly observers?: readonly EngineObserver[];
  /** Per-call sample hook (benchmarks): see `Engine.onCall`. */
  readonly onCall?: CallSampler | null;
  /**
   * Called for a dropped packet before its buffer is freed, for state the data path attached to it
   * (a conntrack entry the packet created and never confirmed dies with it, as in the kernel).
   */
  readonly onDrop?: (pool: PacketPool, slot: number) => void;
}

/** Called after every `process` call with the stage runtime (stage and node names), the vector size and the call's ns. */
export type CallSampler = (rt: { readonly stage: string; readonly nodeName: string }, packets: number, ns: number) => void;

/**
 * The dispatcher's state as typed arrays, so a native dispatcher (src/native/engine-runner.ts) can run
 * the same loop over the same queues and counters and hand control back at any call boundary.
 */
export interface EngineMemory {
  readonly stages: number;
  readonly nodes: number;
  readonly vectorSize: number;
  /** FIFO q (= stage * nodes + node) at q * pool.size; positions modulo pool.size. */
  readonly queues: Int32Array;
  readonly heads: Int32Array;
  readonly tails: Int32Array;
  /** [0]: packets queued anywhere. */
  readonly pending: Int32Array;
  /** The vector of the current call. */
  readonly vector: Int32Array;
  /** [stage * MAX_NEXT + i]: the stage id of `next[i]`. */
  readonly nextIds: Int32Array;
  /** COUNTER_WORDS per (stage * nodes + node): calls, packets, ns, nativePackets, drops by code. */
  readonly counters: Float64Array;
}

/** Most next stages a stage may name (the widest today has 5). */
export const MAX_NEXT = 16;

/**
 * A dispatcher that can take over `run` (the native one). `run` performs calls while it can and
 * returns when nothing is queued (RUNNER_IDLE), when the next call is the engine's to make
 * (RUNNER_YIELD), or in the middle of a call whose vector it took and partly handled
 * (RUNNER_PARTIAL: `call` says which; the engine then lets `finish` complete it in place of the
 * stage's `process`, and counts it). `settle` hands back what it deferred (packets to free, stats)
 * before any TypeScript stage runs.
 */
export interface EngineRunner {
  run(): number;
  settle(): void;
  /** The partial call: [queue, vector length, result, runEnd]; [4] counts vectors carried straight to the next call. */
  readonly call: Int32Array;
  finish(stage: number, rt: StageRuntime<unknown>, slots: Int32Array, n: number): void;
}
export const RUNNER_IDLE = 0;
export const RUNNER_YIELD = 1;
export const RUNNER_PARTIAL = 2;

/** One row of `show runtime`: a stage on a node. */
export interface RuntimeRow {
  readonly node: string;
  readonly stage: string;
  readonly calls: number;
  readonly packets: number;
  readonly ns: number;
  readonly drops: readonly { code: number; count: number }[];
  /** Which engine ran the stage's packets: `ts`, `native`, or `native+ts` when some were handed back. */
  readonly engine: 'ts' | 'native' | 'native+ts';
  /** Packets the native fast path handled. */
  readonly nativePackets: number;
}

/**
 * The graph dispatcher. Knows no protocol: it keeps a FIFO per (stage, cluster node), hands
 * vectors of up to `vectorSize` packets to stages, times each call, and moves every packet to the
 * stage its `next` names (or frees it when dropped/done). Stages are walked in registration
 * order, and the scan restarts from the first stage after each call, so a packet generated or
 * forwarded to an earlier stage (a node receiving from the underlay) is served before later work.
 */
export class Engine<C> {
  readonly pool: PacketPool;
  readonly vectorSize: number;
  readonly traces: TraceRecord[] = [];
  private readonly stages: readonly StageDef<C>[];
  private readonly nodeNames: readonly string[];
  private readonly byName = new Map<string, number>();
  /** [stage][node] runtime. */
  private readonly runtimes: StageRuntime<C>[][];
  /** [stage * MAX_NEXT + next-index] -> stage id. */
  private readonly nextIds: Int32Array;
  /** FIFO per (stage * nodes + node), each pool.size long, in one array. */
  private readonly queues: Int32Array;
  private readonly heads: Int32Array;
  private readonly tails: Int32Array;
  private readonly observers: readonly EngineObserver[];
  private readonly vector: Int32Array;
  private readonly pendingBox = new Int32Array(1);
  private readonly counterMem: Float64Array;
  private tracingOn: boolean;
  /** Takes over `run` while no trace or call sampler is on (see EngineRunner). */
  runner: EngineRunner | null = null;
  private readonly onDrop: ((pool: PacketPool, slot: number) => void) | null;
  /** Per-call sample hook; null (the default) costs one comparison per vector, nothing per packet. */
  onCall: CallSampler | null;

  constructor(opts: EngineOptions<C>) {
    this.pool = opts.pool ?? new PacketPool();
    this.vectorSize = opts.vectorSize ?? 256;
    this.stages = opts.stages;
    this.nodeNames = opts.nodes.map((n) => n.name);
    this.observers = opts.observers ?? [];
    this.tracingOn = opts.tracing ?? false;
    this.onCall = opts.onCall ?? null;
    this.onDrop = opts.onDrop ?? null;
    this.vector = new Int32Array(this.vectorSize);
    opts.stages.forEach((s, i) => {
      if (this.byName.has(s.name)) throw new EngineConfigError(`stage "${s.name}" is registered twice`);
      this.byName.set(s.name, i);
    });
    this.nextIds = new Int32Array(opts.stages.length * MAX_NEXT).fill(-1);
    opts.stages.forEach((s, si) => {
      if (s.next.length > MAX_NEXT) throw new EngineConfigError(`stage "${s.name}" names ${s.next.length} next stages; at most ${MAX_NEXT}`);
      s.next.forEach((n, k) => {
        const id = this.byName.get(n);
        if (id === undefined) throw new EngineConfigError(`stage "${s.name}" names next stage "${n}", which is not registered`);
        this.nextIds[si * MAX_NEXT + k] = id;
      });
    });
    const nodeCount = opts.nodes.length;
    this.counterMem = new Float64Array(opts.stages.length * nodeCount * COUNTER_WORDS);
    const sink: TraceSink = this.traces;
    const spawn = (slot: number, stage: string, node: number): void => this.enqueue(slot, stage, node);
    this.runtimes = opts.stages.map((s, si) =>
      opts.nodes.map((n, ni) => {
        const rec = (si * nodeCount + ni) * COUNTER_WORDS;
        const counters = new StageCounters(this.counterMem.subarray(rec, rec + COUNTER_WORDS));
        const rt = new StageRuntime<C>(s.name, ni, n.name, this.nodeNames, n.ctx, counters, this.pool, sink, this.observers, spawn);
        rt.tracing = this.tracingOn;
        return rt;
      }),
    );
    const nq = opts.stages.length * opts.nodes.length;
    this.queues = new Int32Array(nq * this.pool.size);
    this.heads = new Int32Array(nq);
    this.tails = new Int32Array(nq);
  }

  /** The dispatcher's typed-array state (for a native runner). */
  memory(): EngineMemory {
    return {
      stages: this.stages.length, nodes: this.nodeNames.length, vectorSize: this.vectorSize, queues: this.queues,
      heads: this.heads, tails: this.tails, pending: this.pendingBox, vector: this.vector, nextIds: this.nextIds,
      counters: this.counterMem,
    };
  }

  /** Registered stage definitions, in dispatch order. */
  get stageDefs(): readonly StageDef<C>[] {
    return this.stages;
  }

  /** Observers given at construction (a runner must leave observed work to the stages that report it). */
  get engineObservers(): readonly EngineObserver[] {
    return this.observers;
  }

  get dropHook(): ((pool: PacketPool, slot: number) => void) | null {
    return this.onDrop;
  }

  get tracing(): boolean {
    return this.tracingOn;
  }

  set tracing(on: boolean) {
    this.tracingOn = on;
    for (const row of this.runtimes) for (const rt of row) rt.tracing = on;
  }

  stageId(name: string): number {
    const id = this.byName.get(name);
    if (id === undefined) throw new EngineConfigError(`no stage named "${name}"`);
    return id;
  }

  nodeId(name: string): number {
    const id = this.nodeNames.indexOf(name);
    if (id < 0) throw new EngineConfigError(`no node named "${name}"`);
    return id;
  }

  runtime(stage: string, node: number): StageRuntime<C> {
    return this.runtimes[this.stageId(stage)][node];
  }

  /** Queues a packet at a stage on a node; `run` moves it. */
  enqueue(slot: number, stage: string | number, node: number): void {
    const sid = typeof stage === 'number' ? stage : this.stageId(stage);
    this.pool.node[slot] = node;
    this.push(sid * this.nodeNames.length + node, slot);
  }

  private push(q: number, slot: number): void {
    const size = this.pool.size;
    this.queues[q * size + (this.tails[q] % size)] = slot;
    this.tails[q]++;
    this.pendingBox[0]++;
  }

  /**
   * Runs until no packet is queued. With a runner (the native dispatcher) attached and neither
   * tracing nor a call sampler on, the runner makes the calls it can and the loop below makes one
   * call each time it hands back: the same queues, the same order, the same counters.
   */
  run(): void {
    const nodes = this.nodeNames.length;
    const total = this.stages.length * nodes;
    const pool = this.pool;
    const size = pool.size;
    // A partial call the loop finished is counted and moved on by the runner (call[6]) even when nothing else is queued.
    while (this.pendingBox[0] > 0 || (this.runner !== null && this.runner.call[6] !== 0 && !this.tracingOn && this.onCall === null)) {
      const runner = this.runner;
      let partial = false;
      if (runner !== null && !this.tracingOn && this.onCall === null) {
        const st = runner.run();
        runner.settle();
        if (st === RUNNER_IDLE) continue;
        partial = st === RUNNER_PARTIAL;
      }
      let q = 0;
      let n = 0;
      if (partial) {
        q = runner!.call[0];
        n = runner!.call[1];
      } else {
        while (q < total && this.heads[q] === this.tails[q]) q++;
        const base = q * size;
        while (n < this.vectorSize && this.heads[q] !== this.tails[q]) {
          const slot = this.queues[base + (this.heads[q] % size)];
          this.heads[q]++;
          pool.next[slot] = -1;
          this.vector[n++] = slot;
        }
        if (this.heads[q] === this.tails[q]) this.heads[q] = this.tails[q] = 0;
        this.pendingBox[0] -= n;
      }
      const sid = (q / nodes) | 0;
      const node = q - sid * nodes;
      const rt = this.runtimes[sid][node];
      rt.now = pool.tsSec[this.vector[0]] + pool.tsNsec[this.vector[0]] / 1e9;
      const t0 = performance.now();
      if (partial) runner!.finish(sid, rt as StageRuntime<unknown>, this.vector, n);
      else this.stages[sid].process(rt, this.vector, n, pool);
      const c = rt.counters;
      const ns = (performance.now() - t0) * 1e6;
      c.ns += ns;
      if (partial) {
        // The runner counts the call and moves its packets on as after its own calls, carrying the
        // vector straight to the next call where it can (native/src/dispatch.cc engineRun).
        runner!.call[6] = 1;
        continue;
      }
      if (this.onCall !== null) this.onCall(rt, n, ns);
      c.calls++;
      c.packets += n;
      const nextBase = sid * MAX_NEXT;
      for (let i = 0; i < n; i++) {
        const slot = this.vector[i];
        const nx = pool.next[slot];
        if (nx >= 0) {
          this.push(this.nextIds[nextBase + nx] * nodes + pool.node[slot], slot);
        } else if (nx === NEXT_DROP || nx === NEXT_DONE) {
          for (let o = 0; o < this.observers.length; o++) this.observers[o].final?.(pool, slot, this.stages[sid].name);
          if (nx === NEXT_DROP && this.onDrop) this.onDrop(pool, slot);
          pool.free(slot);
        } else {
          throw new EngineConfigError(`stage "${this.stages[sid].name}" gave packet ${pool.frameNo[slot]} no next stage, drop or verdict`);
        }
      }
    }
  }

  /** Counters per (node, stage), in registration order; stages that saw no packet are left out. */
  runtimeRows(): RuntimeRow[] {
    const rows: RuntimeRow[] = [];
    for (let node = 0; node < this.nodeNames.length; node++) {
      for (let sid = 0; sid < this.stages.length; sid++) {
        const c = this.runtimes[sid][node].counters;
        if (c.calls === 0) continue;
        const drops: { code: number; count: number }[] = [];
        for (let code = 0; code < c.drops.length; code++) if (c.drops[code] > 0) drops.push({ code, count: c.drops[code] });
        const engine = c.nativePackets === 0 ? 'ts' : c.nativePackets === c.packets ? 'native' : 'native+ts';
        rows.push({ node: this.nodeNames[node], stage: this.stages[sid].name, calls: c.calls, packets: c.packets, ns: c.ns, drops, engine, nativePackets: c.nativePackets });
      }
    }
    return rows;
  }

  resetCounters(): void {
    for (const row of this.runtimes) for (const rt of row) rt.counters.reset();
  }
}
