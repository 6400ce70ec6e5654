/**
 * Runs the same input through the TypeScript and the native engine and reduces each run to what
 * must match: every DeviceCapture frame (bytes, device, direction, times, comment), every packet
 * result (verdict, drop reason, parse error, stage, node, hops) and every counter but the time.
 */
import { Dataplane } from '../../src/dataplane/dataplane.js';
import type { EngineObserver } from '../../src/engine/runtime.js';
import { DeviceCapture } from '../../src/observe/device-capture.js';
import { Recorder } from '../../src/observe/recorder.js';
import { replay } from '../../src/replay/replay.js';
import type { Cluster } from '../../src/scenario/index.js';
import { BUILD_COMMAND, loadNative, type EngineName } from '../../src/native/loader.js';

/**
 * The addon must be built for these suites: a missing addon fails them (in CI and locally) with
 * the command to build it, never a skip.
 */
export function assertNativeBuilt(): void {
  const l = loadNative();
  if (!l.ok) throw new Error(`native addon not available (${l.reason}): run \`${BUILD_COMMAND}\`${process.env.CI ? ' (CI: the install-time build failed, see the npm ci log)' : ''}`);
}

export interface RunDigest {
  readonly frames: string[];
  readonly results: string[];
  readonly counters: string[];
  readonly nativePackets: number;
  readonly packets: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

export function newDataplane(cluster: Cluster, engine: EngineName, vectorSize = 256): { dp: Dataplane; rec: Recorder; cap: DeviceCapture } {
  const observers: EngineObserver[] = [];
  const dp = new Dataplane(cluster, { observers, engine, vectorSize, poolSize: 4096 });
  const rec = new Recorder(dp.pool, false);
  const cap = new DeviceCapture(dp.pool, dp.devices.all);
  observers.push(rec, cap);
  return { dp, rec, cap };
}

export function digest(dp: Dataplane, rec: Recorder, cap: DeviceCapture): RunDigest {
  const rows = dp.engine.runtimeRows();
  return {
    frames: cap.frames.map((f) => `${f.device}/${f.dir} #${f.frame} ${f.tsSec}.${f.tsNsec} w${f.wireLen} ${f.comment} ${hex(f.bytes)}`),
    results: rec.take().map((r) => `#${r.frame}${r.generated ? '+' : ''} v${r.verdict} d${r.drop} pe${r.parseError} ${r.stage} n${r.node} i${r.ingress} ${r.tsSec}.${r.tsNsec} hops ${r.hops.map((h) => `${h.node}:${h.device}/${h.dir}`).join(',')}`),
    counters: rows.map((r) => `${r.node} ${r.stage} calls ${r.calls} packets ${r.packets} drops ${r.drops.map((d) => `${d.code}x${d.count}`).join(',')}`),
    nativePackets: rows.reduce((a, r) => a + r.nativePackets, 0),
    packets: rows.reduce((a, r) => a + r.packets, 0),
  };
}

export async function replayDigest(capture: string, cluster: Cluster, engine: EngineName, vectorSize = 256): Promise<RunDigest> {
  const { dp, rec, cap } = newDataplane(cluster, engine, vectorSize);
  await replay({ capture, cluster, vectorSize }, dp);
  return digest(dp, rec, cap);
}
