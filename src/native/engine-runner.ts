/**
 * The native dispatcher as the engine's runner (EngineRunner): the engine's run loop in C++
 * (native/src/dispatch.cc) over the engine's own typed arrays. It makes each call whose stage has
 * a native twin on that node, back to back with no JavaScript in between, and returns at the first
 * call that needs TypeScript (a TS-only stage, a node without its tables attached, an observed stage
 * while capture observers listen) or in the middle of a call whose twin handed packets back; the
 * engine then makes that call (or lets the wrapper's `finish` complete it) exactly as without the
 * runner. Packets that end natively are freed natively, unless JavaScript must see their end
 * (final observers, the drop hook): those are deferred, in order, and ended by `settle`.
 */
import type { NodeContext } from '../dataplane/node-context.js';
import { COUNTER_WORDS } from '../engine/counters.js';
import { EngineConfigError, RUNNER_PARTIAL, type Engine, type EngineRunner } from '../engine/engine.js';
import { NEXT_DONE, NEXT_DROP, type StageRuntime } from '../engine/runtime.js';
import type { NativeStageDef, NativeStages } from './stages.js';
import { StageKind } from './stages.js';

/** Frames of a buffer, as a capture batch holds them (src/capture): offsets, lengths and times per frame. */
export interface FrameArrays {
  readonly buf: Uint8Array;
  readonly offset: Int32Array;
  readonly caplen: Int32Array;
  readonly wireLen: Int32Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
}

export interface NativeRunner extends EngineRunner {
  /** Queues frames from..from+count at `stage` on `node` natively; returns how many (it stops at a frame needing a private buffer, or a full pool). */
  inject(f: FrameArrays, from: number, count: number, frameNo: number, device: number, node: number, stage: number): number;
}

export function attachNativeRunner(engine: Engine<NodeContext>, native: NativeStages, contexts: readonly NodeContext[]): NativeRunner {
  const mem = engine.memory();
  const pool = engine.pool;
  const defs = engine.stageDefs;
  // The observer list may grow after the engine is built (callers push into it): configure per run.
  const observers = engine.engineObservers;
  let finals = observers.filter((o) => o.final !== undefined);
  let configuredFor = -1;
  const onDrop = engine.dropHook;
  const kind = new Uint8Array(mem.stages * mem.nodes);
  const settings = new Uint8Array(2);
  const wrappers: (NativeStageDef | null)[] = defs.map((d) => ('native' in d ? (d as NativeStageDef) : null));
  const configure = (): void => {
    configuredFor = observers.length;
    const observed = observers.some((o) => o.observe !== undefined);
    finals = observers.filter((o) => o.final !== undefined);
    kind.fill(StageKind.JS);
    wrappers.forEach((w, sid) => {
      if (w === null || (w.native.observing && observed)) return;
      for (let node = 0; node < mem.nodes; node++) kind[sid * mem.nodes + node] = w.native.kind(node);
    });
    settings[0] = finals.length > 0 ? 1 : 0;
    settings[1] = finals.length > 0 || onDrop !== null ? 1 : 0;
  };
  configure();
  const deferred = new Int32Array(2 * pool.size);
  const deferredCount = new Int32Array(1);
  // [queue, n, result, runEnd] of a partial call; [4]: vectors handed straight to the next call (a statistic);
  // [5]: packets a conntrack hook deferred to TypeScript before its stop (walkDeferring, native/src/pool.h);
  // [6]: 1 when the engine finished a partial call: the next run() counts it and moves its packets on.
  const call = new Int32Array(7);
  const found = new Float64Array(mem.nodes);
  const ipId = new Int32Array(mem.nodes);
  const handle = native.addon.attachEngine(
    {
      stages: mem.stages, nodes: mem.nodes, vectorSize: mem.vectorSize, counterWords: COUNTER_WORDS, queues: mem.queues,
      heads: mem.heads, tails: mem.tails, pending: mem.pending, vector: mem.vector, nextIds: mem.nextIds, counters: mem.counters,
      kind, hand: native.hand, freeList: pool.freeList, freeTop: pool.freeTop, deferred, deferredCount, settings, call, found, ipId,
    },
    native.pool, native.nodes, native.conntrack,
  );
  const reassemblyEmpty = new Uint8Array(mem.nodes);
  const policyFlags = new Uint8Array(mem.nodes);
  native.addon.engineTables(handle, native.ip4, reassemblyEmpty, native.devices, policyFlags, native.open);
  native.addon.engineFilters(handle, native.filters);
  native.addon.engineEbpf(handle, native.ebpfCt, native.ebpfSock);
  native.addon.engineIpvs(handle, native.ipvs);
  const names = defs.map((d) => d.name);
  return {
    call,
    inject(f, from, count, frameNo, device, node, stage) {
      return native.addon.engineInject(handle, f.buf, f.offset, f.caplen, f.wireLen, f.tsSec, f.tsNsec, from, count, frameNo, device, node, stage, pool.headroom);
    },
    run(): number {
      if (observers.length !== configuredFor) configure();
      for (let i = 0; i < contexts.length; i++) {
        ipId[i] = contexts[i].ipId;
        reassemblyEmpty[i] = contexts[i].reassembly.queues.size === 0 ? 1 : 0;
        policyFlags[i] = native.policyFlags(contexts[i]);
      }
      native.refreshIpvs();
      return native.addon.engineRun(handle);
    },
    settle(): void {
      for (let i = 0; i < contexts.length; i++) {
        contexts[i].ipId = ipId[i];
        if (found[i] !== 0) {
          contexts[i].conntrack.stats.found += found[i];
          found[i] = 0;
        }
      }
      const k = deferredCount[0];
      for (let j = 0; j < k; j++) {
        const slot = deferred[2 * j];
        const stage = names[deferred[2 * j + 1]];
        const nx = pool.next[slot];
        if (nx >= 0) throw new EngineConfigError(`stage "${stage}" sent packet ${pool.frameNo[slot]} to next ${nx} on node ${pool.node[slot]}: outside its next list or the cluster`);
        if (nx !== NEXT_DROP && nx !== NEXT_DONE) throw new EngineConfigError(`stage "${stage}" gave packet ${pool.frameNo[slot]} no next stage, drop or verdict`);
        for (let o = 0; o < finals.length; o++) finals[o].final!(pool, slot, stage);
        if (nx === NEXT_DROP && onDrop) onDrop(pool, slot);
        pool.free(slot);
      }
      deferredCount[0] = 0;
    },
    finish(stage: number, rt: StageRuntime<unknown>, slots: Int32Array, n: number): void {
      const w = wrappers[stage];
      if (w === null || kind[stage * mem.nodes + rt.nodeIndex] === StageKind.JS) throw new EngineConfigError(`the native dispatcher left a call of "${names[stage]}", which has no native twin`);
      w.native.finish(rt as StageRuntime<NodeContext>, slots, n, call[2], call[3], call[5]);
    },
  };
}

export { RUNNER_PARTIAL };
