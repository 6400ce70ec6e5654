import { openCapture } from '../capture/index.js';
import type { CaptureInterface, FrameSource } from '../capture/index.js';
import { Dataplane } from '../dataplane/dataplane.js';
import { DeviceKind } from '../dataplane/devices.js';
import { PacketFlag } from '../engine/pool.js';
import type { EngineObserver } from '../engine/runtime.js';
import { ParseError } from '../packet/errors.js';
import { PacketView } from '../packet/view.js';
import type { Cluster } from '../scenario/model.js';
import { DpemuError } from '../util/errors.js';
import { FlowCut } from './flow-cut.js';
import { addressFor, isEthernet, toEthernet } from './to-ethernet.js';

export class ReplayError extends DpemuError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export interface ReplayOptions {
  /** A capture file's path, or an open frame source (a live interface); the replay closes it. */
  readonly capture: string | FrameSource;
  readonly cluster: Cluster;
  readonly tracing?: boolean;
  /** Attach every frame here (`default/pod-a`, `pod-a`, `node-1`, a device label) instead of by its sender. */
  readonly at?: string;
  readonly observers?: readonly EngineObserver[];
  readonly vectorSize?: number;
  /**
   * How frames are grouped into vectors. `exact` (default): one frame per vector, so each frame runs to
   * completion (with the packets it makes) before the next, as the kernel runs each packet: its own time,
   * random draws and conntrack entries in frame order. `answers`: up to the engine's vector size, cut only
   * before an answer to a frame in the vector (flow-cut.ts): the engine's throughput and its vector
   * handling (parity tests, `--batch`), where frames of one vector may see each other's state differently
   * than the kernel would (a second packet of a new flow meets the first one's entry unconfirmed).
   */
  readonly batching?: 'exact' | 'answers';
  /** Called after each vector has run to completion (results and traces are ready to print). */
  readonly onVector?: (dataplane: Dataplane, framesDone: number) => void | Promise<void>;
}

export interface ReplaySummary {
  readonly frames: number;
  readonly vectors: number;
  readonly format: string;
  readonly firstTs: number;
  readonly lastTs: number;
}

/**
 * Replays a capture through the cluster's data path: frames are read in batches, copied into
 * packet buffers, grouped into vectors (`batching`: one frame per vector by default), and
 * each vector runs to completion before the next is loaded. Time is the capture's. A damaged
 * capture throws after every good frame before the damage has run (replaySettled: with the summary).
 */
export async function replay(opts: ReplayOptions, dataplane?: Dataplane): Promise<ReplaySummary> {
  const r = await replaySettled(opts, dataplane);
  if (r.error !== undefined) throw r.error;
  return r.summary;
}

/** What replaySettled ends with: the summary of what ran and, for a capture damaged part way, its error. */
export interface ReplayOutcome {
  readonly summary: ReplaySummary;
  readonly error?: unknown;
}

/**
 * replay() that does not throw for a capture damaged part way: the frames before the damage have run and
 * the summary counts them, so a caller can still write its outputs (pcaps, tables) and then report the error.
 * Errors before any frame (no such file, an unknown --at) still throw.
 */
export async function replaySettled(opts: ReplayOptions, dataplane = new Dataplane(opts.cluster, { tracing: opts.tracing, observers: opts.observers, vectorSize: opts.vectorSize })): Promise<ReplayOutcome> {
  const stream: FrameSource = typeof opts.capture === 'string' ? await openCapture(opts.capture) : opts.capture;
  const attachAt = opts.at !== undefined ? dataplane.findDevice(opts.at) : undefined;
  if (opts.at !== undefined && !attachAt) {
    await stream.close();
    // A bare name several namespaces share is not "no pod": say how to pick one, as dpemu walk does.
    const namesakes = opts.cluster.pods.filter((p) => p.name === opts.at);
    if (namesakes.length > 1) {
      throw new ReplayError('BAD_ATTACH', `--at ${opts.at}: pod "${opts.at}" is in several namespaces (${namesakes.map((p) => p.namespace).sort().join(', ')}): write namespace/name`);
    }
    const names = dataplane.devices.all.filter((d) => d.kind === 0).map((d) => d.pod ? `${d.pod.namespace}/${d.pod.name}` : d.label).sort();
    const nic = dataplane.devices.all.find((d) => d.kind === DeviceKind.UNDERLAY);
    const deviceHint = nic ? `; or a device as "<node> <device>", e.g. "${nic.label}"` : '';
    throw new ReplayError('BAD_ATTACH', `--at ${opts.at}: no pod, node or device of that name (pods: ${names.join(', ')}; nodes: ${opts.cluster.nodes.map((n) => n.name).join(', ')}${deviceHint})`);
  }
  const ifaceDevice = interfaceDevices(stream.interfaces, dataplane);
  const pool = dataplane.pool;
  const vectorSize = dataplane.engine.vectorSize;
  // One frame per vector needs no cut; batching cuts before an answer (flow-cut.ts).
  const cut = opts.batching === 'answers' ? new FlowCut(opts.cluster) : null;
  const perVector = cut === null ? 1 : vectorSize;
  const view = new PacketView();
  let scratch = new Uint8Array(pool.slotBytes);
  let frameNo = 0;
  let inVector = 0;
  let vectors = 0;
  let firstTs = -1;
  let lastTs = 0;
  let error: unknown;
  const flush = async (): Promise<void> => {
    if (inVector === 0) return;
    dataplane.run();
    vectors++;
    inVector = 0;
    cut?.reset();
    await opts.onVector?.(dataplane, frameNo);
  };
  try {
    for await (const batch of stream) {
      for (let i = 0; i < batch.count; i++) {
        frameNo++;
        let bytes = batch.buf;
        let off = batch.offset[i];
        let caplen = batch.caplen[i];
        let wireLen = batch.wireLen[i];
        const lt = batch.linkType[i];
        let notEthernet = 0;
        const at = attachAt ? attachAt.id : ifaceDevice[batch.interfaceId[i]] ?? -1;
        if (!isEthernet(lt)) {
          // A frame longer than a slot (GRO, jumbo) still becomes Ethernet: the pool gives it a private buffer.
          if (caplen + 14 > scratch.length) scratch = new Uint8Array(caplen + 14);
          const n = toEthernet(view, batch.buf.subarray(off, off + caplen), caplen, wireLen, lt, scratch);
          if (n >= 0) {
            if (at >= 0) addressFor(scratch, dataplane.devices.get(at), dataplane.devices);
            wireLen = wireLen - caplen + n;
            caplen = n;
            bytes = scratch;
            off = 0;
          } else {
            // Bad input is data: dropped at frame-input with the reason, never read as Ethernet.
            notEthernet = view.error !== 0 ? view.error : ParseError.NO_NETWORK_LAYER;
          }
        }
        if (inVector >= perVector || (cut !== null && cut.conflicts(bytes, off, caplen))) {
          await flush();
          cut?.conflicts(bytes, off, caplen);
        }
        const slot = pool.load(bytes, off, caplen, wireLen, batch.tsSec[i], batch.tsNsec[i]);
        pool.frameNo[slot] = frameNo;
        if (notEthernet) {
          pool.flags[slot] |= PacketFlag.NOT_ETHERNET;
          pool.aux1[slot] = notEthernet;
        }
        const ts = batch.tsSec[i] + batch.tsNsec[i] / 1e9;
        if (firstTs < 0) firstTs = ts;
        lastTs = ts;
        dataplane.inject(slot, at);
        inVector++;
      }
    }
    await flush();
  } catch (e) {
    // A damaged capture: every good frame before the damage is processed, then the error surfaces.
    await flush();
    error = e;
  } finally {
    await stream.close();
  }
  const summary = { frames: frameNo, vectors, format: stream.format, firstTs: firstTs < 0 ? 0 : firstTs, lastTs };
  return error === undefined ? { summary } : { summary, error };
}

/** A pcapng interface named after a device (as `--write-pcaps` names them) attaches its frames there. */
function interfaceDevices(ifaces: readonly CaptureInterface[], dp: Dataplane): number[] {
  return ifaces.map((i) => (i.name ? dp.devices.all.find((d) => d.label === i.name)?.id ?? -1 : -1));
}
