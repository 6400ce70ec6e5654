import { join } from 'node:path';
import { Dataplane } from '../dataplane/dataplane.js';
import { DeviceKind } from '../dataplane/devices.js';
import { dropReasonInfo } from '../engine/drop-reasons.js';
import { VERDICT_NAMES } from '../engine/pool.js';
import type { EngineObserver } from '../engine/runtime.js';
import { DeviceCapture } from '../observe/device-capture.js';
import { canonicalFlowJson, FlowPbFile } from '../observe/flow-proto.js';
import { HubbleWriter, type FlowEvent } from '../observe/hubble.js';
import { summarize } from '../observe/packet-info.js';
import { Recorder, type PacketResult } from '../observe/recorder.js';
import { formatErrors, formatRuntime } from '../observe/stats.js';
import { NodePcaps, nodePcapsProblem } from '../observe/write-pcaps.js';
import { parseErrorName } from '../packet/errors.js';
import { formatConntrackList } from '../conntrack/format.js';
import { replaySettled } from '../replay/replay.js';
import { damagedCapture } from './io.js';
import { prepareOutputDir } from '../util/output-path.js';
import { packageRoot } from '../scenario/default-path.js';
import type { Cluster } from '../scenario/model.js';
import type { FrameSource } from '../capture/types.js';
import type { Io } from './io.js';
import type { EngineName } from '../native/loader.js';

export interface ReplayCommandOptions {
  readonly trace?: boolean;
  readonly json?: boolean;
  /** Write the flows `json` prints to this file as length-delimited observer.GetFlowsResponse protobuf. */
  readonly flowsPb?: string;
  readonly stats?: boolean;
  readonly writePcaps?: string;
  readonly at?: string;
  /** Print each node's conntrack table after the replay (`conntrack -L` lines). */
  readonly dumpCt?: boolean;
  /** With dumpCt: `conntrack -L -o extended` lines. */
  readonly ctExtended?: boolean;
  /** No per-packet lines (for `dpemu ct`). */
  readonly quiet?: boolean;
  /** Engine for the overlay fast-path stages (default ts; `dpemu replay` picks it with selectEngine). */
  readonly engine?: EngineName;
  /** Batch frames into vectors (replay.ts `batching: 'answers'`); by default each frame runs alone. */
  readonly batch?: boolean;
}

export function defaultCapturePath(): string {
  return join(packageRoot(), 'pcaps', 'default', 'walk.pcapng');
}

/** `dpemu replay`: one line per frame (or Hubble JSON), traces, stats and per-node pcapng outputs. */
export async function replayCommand(capture: string | FrameSource, cluster: Cluster, o: ReplayCommandOptions, io: Io): Promise<number> {
  // Checked before the replay: a directory that cannot be written would lose the whole run's captures.
  const pcapDirProblem = o.writePcaps !== undefined ? prepareOutputDir(o.writePcaps) ?? nodePcapsProblem(o.writePcaps, cluster) : undefined;
  if (pcapDirProblem !== undefined) {
    io.err(`dpemu: --write-pcaps ${o.writePcaps}: ${pcapDirProblem}; name a writable directory (it is created if missing)\n`);
    return 2;
  }
  const tracing = Boolean(o.trace);
  const observers: EngineObserver[] = [];
  const dp0Pool = 4096;
  let recorder: Recorder | undefined;
  let devCap: DeviceCapture | undefined;
  const dataplane = new Dataplane(cluster, {
    tracing,
    observers,
    poolSize: dp0Pool,
    engine: o.engine ?? 'ts',
  });
  // Each policy diagnostic names its object and field, as scenario problems name theirs.
  for (const d of dataplane.contexts[0]?.policy?.diagnostics ?? []) io.err(`${d.severity === 'error' ? 'error' : 'warning'}: ${d.object}${d.field ? ` ${d.field}` : ''}: ${d.message}\n`);
  // Opened before the replay, so a path that cannot be written costs no run.
  let flowsPb: FlowPbFile | undefined;
  if (o.flowsPb !== undefined) {
    try {
      flowsPb = new FlowPbFile(o.flowsPb);
    } catch (e) {
      io.err(`dpemu: --flows-pb ${(e as Error).message}\n`);
      return 2;
    }
  }
  const flows = Boolean(o.json) || flowsPb !== undefined;
  recorder = new Recorder(dataplane.pool, Boolean(flows && o.trace));
  observers.push(recorder);
  let pcaps: NodePcaps | undefined;
  if (o.writePcaps) {
    devCap = new DeviceCapture(dataplane.pool, dataplane.devices.all);
    observers.push(devCap);
    pcaps = new NodePcaps(o.writePcaps, cluster, dataplane.devices, 'dpemu');
  }
  const hubble = flows ? new HubbleWriter(cluster, dataplane.devices) : undefined;
  const emit = (e: FlowEvent): void => {
    const response = hubble!.response(e);
    if (o.json) io.out(`${JSON.stringify(canonicalFlowJson(response))}\n`);
    flowsPb?.add(response);
  };
  let base = -1;
  let delivered = 0;
  let dropped = 0;
  let total = 0;
  const otherVerdicts = new Map<number, number>();
  const label = (id: number): string => {
    const d = dataplane.devices.get(id);
    if (d.kind === DeviceKind.POD_ETH0) return d.pod!.name;
    if (d.kind === DeviceKind.UNDERLAY) return `${cluster.nodes[d.node].name}:${d.name}`;
    return d.name;
  };
  const verdictText = (r: PacketResult): string => {
    if (r.verdict === 2) {
      const d = dropReasonInfo(r.drop);
      const extra = d.name === 'MALFORMED_FRAME' ? ` ${parseErrorName(r.parseError)}` : '';
      return `DROPPED ${d.name}${extra} at ${cluster.nodes[r.node]?.name ?? '?'} ${r.stage}`;
    }
    if (r.verdict === 6) return 'TRACED (held for reassembly)';
    return VERDICT_NAMES[r.verdict];
  };
  const onVector = (dp: Dataplane): void => {
    // Each vector's frames go to the files now: a long capture's hops are not all held in memory.
    if (pcaps && devCap) pcaps.write(devCap.take());
    if (o.quiet) {
      recorder!.take();
      dp.engine.traces.length = 0;
      return;
    }
    const results = recorder!.take().sort((a, b) => a.frame - b.frame || Number(a.generated) - Number(b.generated));
    const traces = dp.engine.traces.splice(0, dp.engine.traces.length);
    for (const r of results) {
      total++;
      if (r.verdict === 2) dropped++;
      else if (r.verdict === 1) delivered++;
      else otherVerdicts.set(r.verdict, (otherVerdicts.get(r.verdict) ?? 0) + 1);
      if (base < 0) base = r.tsSec + r.tsNsec / 1e9;
      if (hubble) {
        if (o.trace) {
          for (const h of r.hops) {
            if (!h.info) continue;
            // Hubble reports trace events (a packet seen at an observation point) as FORWARDED.
            emit({ tsSec: r.tsSec, tsNsec: r.tsNsec, node: cluster.nodes[h.node].name, verdict: 1, drop: 0, parseError: 0, info: h.info, device: h.device, dir: h.dir, isReply: null, frame: r.frame });
          }
        }
        const last = r.hops[r.hops.length - 1];
        emit({ tsSec: r.tsSec, tsNsec: r.tsNsec, node: cluster.nodes[r.node]?.name ?? '', verdict: r.verdict, drop: r.drop, parseError: r.parseError, info: r.info, device: last ? last.device : -1, dir: last ? last.dir : 0, isReply: null, frame: r.frame, stage: r.stage });
        if (o.json) continue;
      }
      const t = (r.tsSec + r.tsNsec / 1e9 - base).toFixed(6);
      const path: string[] = [];
      for (const h of r.hops) {
        const l = label(h.device);
        if (path[path.length - 1] !== l) path.push(l);
      }
      const tag = r.generated ? `${String(r.frame).padStart(5)}+` : String(r.frame).padStart(6);
      io.out(`${tag} ${t.padStart(10)}  ${summarize(r.info)}  [${path.join(' > ') || '-'}]  ${verdictText(r)}\n`);
      if (tracing) {
        for (const tr of traces.filter((x) => x.frame === r.frame && x.packet >= 0)) {
          io.out(`         ${tr.node.padEnd(7)} ${tr.stage.padEnd(15)} ${tr.point.padEnd(28)} ${tr.decision}${tr.detail ? `: ${tr.detail}` : ''}\n`);
        }
        // Print each frame's trace once, with its first result line.
        for (let i = traces.length - 1; i >= 0; i--) if (traces[i].frame === r.frame) traces.splice(i, 1);
      }
    }
    flowsPb?.flush();
    if (io.errIsTty) io.err(`\r${total} packets`);
  };
  // A capture damaged part way: the outputs below still cover every good frame; the error is reported after them.
  let settled: Awaited<ReturnType<typeof replaySettled>>;
  try {
    settled = await replaySettled({ capture, cluster, tracing, at: o.at, onVector, batching: o.batch ? 'answers' : 'exact' }, dataplane);
  } catch (e) {
    // Refused before any frame (an unknown --at): the files opened for --write-pcaps are closed, not left half-written.
    await pcaps?.close();
    await flowsPb?.close();
    throw e;
  }
  const { summary, error } = settled;
  if (io.errIsTty) io.err('\r');
  // With --json stdout stays JSON Lines (`hubble observe --input-file` reads it): the tables go to stderr, as
  // `dpemu inspect --json` writes its summary there.
  const tables = (t: string): void => (o.json ? io.err(t) : io.out(t));
  if (o.stats) {
    const rows = dataplane.engine.runtimeRows();
    tables(`\n${formatRuntime(rows)}\n${formatErrors(rows)}\n`);
  }
  if (pcaps && devCap) {
    pcaps.write(devCap.take());
    const files = await pcaps.close();
    io.err(`wrote ${files.join(', ')}\n`);
    if (pcaps.before1970 > 0) io.err(`dpemu: --write-pcaps left out ${pcaps.before1970} hop frames timed before 1970 (a pcapng packet block cannot hold such a time)\n`);
  }
  if (o.dumpCt) {
    // Remaining timeouts are as of the last packet's time, as `conntrack -L` run right after the capture.
    for (const ctx of dataplane.contexts) {
      const lines = formatConntrackList(ctx.conntrack, summary.lastTs, o.ctExtended === true);
      tables(`${o.quiet ? '' : '\n'}# node ${ctx.node.name}: conntrack -L${o.ctExtended ? ' -o extended' : ''} (${lines.length} flow entries)\n`);
      for (const l of lines) tables(`${l}\n`);
      if (o.quiet) tables('\n');
    }
  }
  if (flowsPb) {
    await flowsPb.close();
    io.err(`wrote ${flowsPb.file} (${flowsPb.count} flows, observer.GetFlowsResponse, length-delimited)\n`);
  }
  if (!o.json && !o.quiet) {
    // Every packet that ended is in one of the counts: the rest by verdict name (held for reassembly, redirected...).
    const others = [...otherVerdicts].map(([v, n]) => `, ${n} ${v === 6 ? 'held for reassembly' : VERDICT_NAMES[v]!.toLowerCase()}`).join('');
    io.out(`${summary.frames} frames replayed: ${total} packets ended, ${delivered} forwarded, ${dropped} dropped${others}\n`);
  }
  return error === undefined ? 0 : damagedCapture(error, io);
}
