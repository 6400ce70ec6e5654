/**
 * A small harness for stage conformance tests: a Dataplane built from an inline scenario (or the
 * bundled default), hand-built frames injected at a named pod/node or by their sender, and what
 * came out: per-packet results (Recorder), per-device frames (DeviceCapture), traces, counters.
 *
 * The engine is an option (`EngineFactory`): the conformance suites run `describe.each(ENGINES)`,
 * the TypeScript engine and the native one. A traced vector runs the TypeScript stages (trace text
 * has one source), so the native factory builds its Dataplane untraced: its runs have no traces
 * (`engine.traces` false) and suites check traces only where the engine gives them.
 */
import { Dataplane, type DataplaneOptions } from '../../src/dataplane/dataplane.js';
import type { Device } from '../../src/dataplane/devices.js';
import { dropReasonInfo } from '../../src/engine/drop-reasons.js';
import type { RuntimeRow } from '../../src/engine/engine.js';
import type { EngineObserver } from '../../src/engine/runtime.js';
import type { TraceRecord } from '../../src/engine/trace.js';
import { DeviceCapture, type CapturedFrame } from '../../src/observe/device-capture.js';
import { Recorder, type PacketResult } from '../../src/observe/recorder.js';
import { ChecksumStatus, verifyIpv4Header, verifyL4 } from '../../src/packet/checksum.js';
import { parsePacket } from '../../src/packet/parse.js';
import { LinkType, PacketView, type LayerView } from '../../src/packet/view.js';
import { defaultScenarioPath, loadScenarioFile, loadScenarioText } from '../../src/scenario/index.js';
import type { Cluster, NodeModel, PodModel } from '../../src/scenario/index.js';

/** Builds a Dataplane for a cluster: the one seam a native engine plugs into. */
export interface EngineFactory {
  readonly name: string;
  create(cluster: Cluster, opts: DataplaneOptions): Dataplane;
  /** False when this engine's runs record no traces (the native engine runs untraced). Default true. */
  readonly traces?: boolean;
}

export const tsEngine: EngineFactory = { name: 'ts', create: (cluster, opts) => new Dataplane(cluster, opts) };

/** Packets the native stages took, summed over every Dataplane nativeEngine built in this file. */
export const nativeRuns = { dataplanes: [] as Dataplane[], packets(): number {
  return this.dataplanes.reduce((a, dp) => a + dp.engine.runtimeRows().reduce((b, r) => b + r.nativePackets, 0), 0);
} };

/** The native engine (needs the addon: npm run build:native), untraced so its stages run natively. */
export const nativeEngine: EngineFactory = {
  name: 'native',
  traces: false,
  create: (cluster, opts) => {
    const dp = new Dataplane(cluster, { ...opts, engine: 'native', tracing: false });
    nativeRuns.dataplanes.push(dp);
    return dp;
  },
};

/** Every engine the conformance suites run against. */
export const ENGINES: readonly EngineFactory[] = [tsEngine, nativeEngine];

export interface HarnessOptions {
  /** Inline scenario YAML; default: the bundled pcaps/default/scenario.yaml. */
  readonly scenario?: string;
  readonly engine?: EngineFactory;
  /** Trace every stage (default true: tests read traces). */
  readonly tracing?: boolean;
}

export interface SendOptions {
  /** A pod (`pod-a`, `default/pod-a`), a node (its NIC) or a device label; default: by sender. */
  readonly at?: string;
  /** Packet time in seconds (default: the previous frame's time). */
  readonly t?: number;
  /** Length on the wire when the capture cut the frame (snaplen): `bytes` is then what was captured. */
  readonly wireLen?: number;
}

/** What one run() produced. */
export interface RunOutput {
  readonly results: PacketResult[];
  readonly frames: CapturedFrame[];
  readonly traces: TraceRecord[];
}

export function loadCluster(scenario?: string): Cluster {
  const r = scenario === undefined ? loadScenarioFile(defaultScenarioPath()) : loadScenarioText(scenario, 'inline.yaml');
  if (!r.ok) throw r.error;
  return r.cluster;
}

export class Harness {
  readonly cluster: Cluster;
  readonly dp: Dataplane;
  readonly recorder: Recorder;
  readonly capture: DeviceCapture;
  private frameNo = 0;
  private now = 1_700_000_000;
  private framesTaken = 0;

  constructor(opts: HarnessOptions = {}) {
    this.cluster = loadCluster(opts.scenario);
    const observers: EngineObserver[] = [];
    this.dp = (opts.engine ?? tsEngine).create(this.cluster, { tracing: opts.tracing ?? true, observers, poolSize: 1024 });
    this.recorder = new Recorder(this.dp.pool, false);
    this.capture = new DeviceCapture(this.dp.pool, this.dp.devices.all);
    observers.push(this.recorder, this.capture);
  }

  pod(name: string): PodModel {
    const p = this.cluster.pods.find((x) => x.name === name || `${x.namespace}/${x.name}` === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  }

  node(name: string): NodeModel {
    const n = this.cluster.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** A device by pod/node name or label, as `--at` resolves it (`node-1 eth0`, `default/pod-a eth0`). */
  device(name: string): Device {
    const d = this.dp.findDevice(name);
    if (!d) throw new Error(`no device ${name}`);
    return d;
  }

  /** Queues a frame; returns its frame number. Time is absolute seconds relative to a fixed base. */
  send(bytes: Uint8Array, o: SendOptions = {}): number {
    if (o.t !== undefined) this.now = 1_700_000_000 + o.t;
    const sec = Math.floor(this.now);
    const nsec = Math.round((this.now - sec) * 1e9);
    const pool = this.dp.pool;
    const slot = pool.load(bytes, 0, bytes.length, o.wireLen ?? bytes.length, sec, nsec);
    pool.frameNo[slot] = ++this.frameNo;
    this.dp.inject(slot, o.at === undefined ? -1 : this.device(o.at).id);
    return this.frameNo;
  }

  /** Runs what was queued; returns results, device frames and traces since the last run. */
  run(): RunOutput {
    this.dp.run();
    const frames = this.capture.frames.slice(this.framesTaken);
    this.framesTaken = this.capture.frames.length;
    return { results: this.recorder.take(), frames, traces: this.dp.engine.traces.splice(0) };
  }

  /** send + run for one frame. */
  one(bytes: Uint8Array, o: SendOptions = {}): RunOutput {
    this.send(bytes, o);
    return this.run();
  }

  counters(): RuntimeRow[] {
    return this.dp.engine.runtimeRows();
  }

  /** Drop count by reason name on a node (every stage), e.g. `drops('node-1').FRAG_NEEDED`. */
  drops(node: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.counters()) {
      if (r.node !== node) continue;
      for (const d of r.drops) out[dropReasonInfo(d.code).name] = (out[dropReasonInfo(d.code).name] ?? 0) + d.count;
    }
    return out;
  }
}

/** Frames a device saw in a run, by device label (`node-1 eth0`), 0 received / 1 sent. */
export function framesAt(out: RunOutput, h: Harness, label: string, dir?: 0 | 1): CapturedFrame[] {
  const id = h.device(label).id;
  return out.frames.filter((f) => f.device === id && (dir === undefined || f.dir === dir));
}

export function dropName(r: PacketResult): string {
  return r.verdict === 2 ? dropReasonInfo(r.drop).name : '';
}

/** Parses frame bytes (VXLAN on 8472 and 4789); layers[0] is the outer packet, layers[1] the inner. */
export function parse(bytes: Uint8Array): PacketView {
  const v = new PacketView({ vxlanPorts: [8472, 4789] });
  const err = parsePacket(v, bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET);
  if (err !== 0) throw new Error(`frame does not parse: error ${err}`);
  return v;
}

/** True when the layer's IPv4 header checksum and its L4 checksum (when checkable) verify. */
export function checksumsValid(bytes: Uint8Array, L: LayerView): boolean {
  return verifyIpv4Header(bytes, L) === ChecksumStatus.GOOD && verifyL4(bytes, L) !== ChecksumStatus.BAD;
}

export function ip(text: string): number {
  return text.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

export function mac(bytes: Uint8Array, off: number): string {
  return Array.from(bytes.subarray(off, off + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
