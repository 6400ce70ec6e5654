import { Engine } from '../engine/engine.js';
import type { EngineObserver } from '../engine/runtime.js';
import { PacketPool } from '../engine/pool.js';
import type { Cluster } from '../scenario/model.js';
import { nodeStages, S } from '../stages/index.js';
import { requireNative, type EngineName } from '../native/loader.js';
import { attachNativeRunner, type FrameArrays, type NativeRunner } from '../native/engine-runner.js';
import { nativeStages } from '../native/stages.js';
import { DeviceKind, DeviceTable, type Device } from './devices.js';
import { buildNodeContexts, type NodeContext } from './node-context.js';

export interface DataplaneOptions {
  readonly tracing?: boolean;
  readonly observers?: readonly EngineObserver[];
  readonly vectorSize?: number;
  readonly poolSize?: number;
  /** `native`: the overlay fast-path stages run in the C++ addon (throws NativeEngineUnavailable when it is not built). Default ts. */
  readonly engine?: EngineName;
  /** With the native engine: run the native dispatcher (default true); false keeps one addon call per stage call. */
  readonly nativeDispatch?: boolean;
}

/** A cluster's data path: devices, per-node contexts and the stage graph on the engine. */
export class Dataplane {
  readonly devices: DeviceTable;
  readonly contexts: NodeContext[];
  readonly engine: Engine<NodeContext>;
  readonly engineName: EngineName;

  constructor(readonly cluster: Cluster, opts: DataplaneOptions = {}) {
    this.devices = new DeviceTable(cluster);
    this.contexts = buildNodeContexts(cluster, this.devices);
    this.engineName = opts.engine ?? 'ts';
    const pool = new PacketPool(opts.poolSize ?? 4096);
    const native = this.engineName === 'native' ? nativeStages(nodeStages(), requireNative(), pool, this.contexts) : null;
    this.engine = new Engine<NodeContext>({
      stages: native?.stages ?? nodeStages(),
      nodes: this.contexts.map((c) => ({ name: c.node.name, ctx: c })),
      pool,
      vectorSize: opts.vectorSize ?? 256,
      tracing: opts.tracing ?? false,
      observers: opts.observers ?? [],
      onDrop: (pool, slot) => releaseUnconfirmed(this, pool, slot),
    });
    // The native dispatcher makes the calls of native stages back to back (DPEMU_NATIVE_DISPATCH=0: per-stage calls only).
    if (native && opts.nativeDispatch !== false && process.env.DPEMU_NATIVE_DISPATCH !== '0') {
      this.runner = attachNativeRunner(this.engine, native, this.contexts);
      this.engine.runner = this.runner;
    }
  }

  private readonly runner: NativeRunner | null = null;

  get pool(): PacketPool {
    return this.engine.pool;
  }

  /**
   * Resolves an attach point named by a person: `default/pod-a`, `pod-a` (unique name), a node
   * name (its underlay NIC), `node-1 cali…`, or a device label as traces print it.
   */
  findDevice(name: string): Device | undefined {
    const all = this.devices.all;
    const exact = all.find((d) => d.label === name || d.label === `${name} eth0`);
    if (exact) return exact;
    const node = this.cluster.nodes.find((n) => n.name === name);
    if (node) return this.devices.get(this.devices.nicOf[node.index]);
    const pods = all.filter((d) => d.kind === DeviceKind.POD_ETH0 && d.pod && (d.pod.name === name || `${d.pod.namespace}/${d.pod.name}` === name));
    return pods.length === 1 ? pods[0] : undefined;
  }

  /** Queues a loaded slot at the graph's entry; `device` -1 lets frame-input attach it by its sender. */
  inject(slot: number, device: number): void {
    this.pool.device[slot] = device;
    this.engine.enqueue(slot, S.FRAME_INPUT, device >= 0 ? this.devices.get(device).node : 0);
  }

  /**
   * Queues frames `from`..`from+count` of a buffer (a capture in memory) at the graph's entry, as
   * pool.load + inject per frame would, numbered from `frameNo`; with the native dispatcher, one
   * addon call copies them (a frame too big for a slot still goes through pool.load).
   */
  injectFrames(f: FrameArrays, from: number, count: number, frameNo: number, device = -1): void {
    const node = device >= 0 ? this.devices.get(device).node : 0;
    const pool = this.pool;
    let i = 0;
    while (i < count) {
      if (this.runner !== null) {
        i += this.runner.inject(f, from + i, count - i, frameNo + i, device, node, this.engine.stageId(S.FRAME_INPUT));
        if (i >= count) break;
      }
      const k = from + i;
      const slot = pool.load(f.buf, f.offset[k], f.caplen[k], f.wireLen[k], f.tsSec[k], f.tsNsec[k]);
      pool.frameNo[slot] = frameNo + i;
      this.inject(slot, device);
      i++;
    }
  }

  run(): void {
    this.engine.run();
  }
}

/**
 * A packet dropped after conntrack created its entry but before the entry was confirmed takes the
 * entry with it, as the kernel frees an unconfirmed conntrack with its skb: otherwise a denied or
 * undeliverable first packet would hold a table slot forever.
 */
function releaseUnconfirmed(dp: Dataplane, pool: PacketPool, slot: number): void {
  const n = pool.ct[slot];
  if (n < 0) return;
  const ctx = dp.contexts[pool.node[slot]];
  if (ctx && !ctx.conntrack.isConfirmed(n >> 1)) ctx.conntrack.delete(n >> 1);
}
