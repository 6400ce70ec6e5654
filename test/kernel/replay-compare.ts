import { join } from 'node:path';
import { formatConntrackList } from '../../src/conntrack/format.js';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { DeviceKind, type Device } from '../../src/dataplane/devices.js';
import type { EngineObserver } from '../../src/engine/runtime.js';
import { DeviceCapture, type CapturedFrame } from '../../src/observe/device-capture.js';
import { finishChecksum, onesSum, pseudoSum4 } from '../../src/packet/checksum.js';
import { replay } from '../../src/replay/replay.js';
import type { Cluster } from '../../src/scenario/index.js';
import { diffFrames, isVxlan } from './frame-mask.js';
import { readFrames, type KFrame, type Manifest, type ManifestFile } from './kernel-captures.js';
import { writeReplayInput, type SentFrame } from './scenario-captures.js';

/**
 * dpemu's side of the kube-proxy kernel comparisons (service.test.ts, hairpin.test.ts): replay the frames
 * the kernel test bed's senders sent, then line dpemu's frames at every device up with the kernel's
 * capture at the same observation point, and each node's conntrack table with the kernel's dump.
 */

export const rd16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export const ipText = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** IPv4 header offset of the (inner) datagram: 64 inside VXLAN, else 14; -1 when not IPv4. */
export function l3(f: Uint8Array, vxlanPort: number): number {
  if (f.length < 34 || f[12] !== 8 || f[13] !== 0) return -1;
  return isVxlan(f, vxlanPort) ? 64 : 14;
}

export function describeFrame(f: Uint8Array, vxlanPort: number): string {
  const ip = l3(f, vxlanPort);
  if (ip < 0) return `non-IPv4 ${f.length} bytes`;
  const l4 = ip + (f[ip] & 15) * 4;
  const ports = f[ip + 9] === 6 || f[ip + 9] === 17 ? ` ${rd16(f, l4)}>${rd16(f, l4 + 2)}` : '';
  return `${ip === 64 ? `vxlan ${ipText(f, 26)}>${ipText(f, 30)} ` : ''}${ipText(f, ip + 12)}>${ipText(f, ip + 16)} proto ${f[ip + 9]}${ports} ttl ${f[ip + 8]} len ${rd16(f, ip + 2)}`;
}

const tsOf = (f: CapturedFrame): bigint => BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec);

function flowOf(f: Uint8Array, vxlanPort: number): string {
  const ip = l3(f, vxlanPort);
  if (ip < 0) return '';
  const a = ipText(f, ip + 12);
  const b = ipText(f, ip + 16);
  return `${a < b ? a : b}|${a < b ? b : a}|${f[ip + 9]}`;
}

/** dpemu's frames at a device in packet-time order; per flow the replay keeps order (checked first). */
export function inTimeOrder(frames: CapturedFrame[], vxlanPort: number): CapturedFrame[] {
  const last = new Map<string, bigint>();
  for (const f of frames) {
    const k = flowOf(f.bytes, vxlanPort);
    if ((last.get(k) ?? -1n) > tsOf(f)) throw new Error(`dpemu recorded flow ${k} out of order at device ${f.device}: ${f.comment}`);
    last.set(k, tsOf(f));
  }
  return frames.map((f, i) => ({ f, i })).sort((x, y) => (tsOf(x.f) < tsOf(y.f) ? -1 : tsOf(x.f) > tsOf(y.f) ? 1 : x.i - y.i)).map((x) => x.f);
}

/** An ICMP error a node's own stack generated (net unreachable, REJECT's port unreachable, ...). */
export function nodeIcmpError(f: Uint8Array, nodeIps: ReadonlySet<string>): boolean {
  return f.length >= 35 && f[12] === 8 && f[13] === 0 && f[23] === 1 && nodeIps.has(ipText(f, 26)) && [3, 4, 5, 11, 12].includes(f[34]);
}

/** A replay's dataplane and what every device saw. */
export interface Run {
  readonly dp: Dataplane;
  readonly cap: DeviceCapture;
}

/** Replays `frames` (written to `dir/name` as pcapng, see writeReplayInput) through a fresh dataplane of `cluster`. */
export async function replayOnce(cluster: Cluster, frames: readonly SentFrame[], dir: string, name: string): Promise<Run> {
  const observers: EngineObserver[] = [];
  // Vector size 1: every frame runs to completion before the next, as the kernel does per packet.
  // The replay's FlowCut (src/replay/flow-cut.ts) keys on the frame's own 5-tuple, which does not
  // join a NATed connection's two directions (pod-a -> 10.96.5.20:80 and 10.244.2.8:8080 -> pod-a):
  // with the default vector the SYN-ACK from backend-a shares a vector with the SYN and reaches
  // node-2's conntrack first.
  const dp = new Dataplane(cluster, { observers, vectorSize: 1 });
  const cap = new DeviceCapture(dp.pool, dp.devices.all);
  observers.push(cap);
  const pcap = join(dir, name);
  await writeReplayInput(pcap, frames);
  await replay({ capture: pcap, cluster }, dp);
  return { dp, cap };
}

/** The dpemu device a manifest entry's capture was taken at (exactly one, else throws). */
export function deviceFor(cluster: Cluster, dp: Dataplane, f: ManifestFile): Device {
  const node = cluster.nodes.find((n) => n.name === f.node);
  if (!node) throw new Error(`manifest ${f.file}: node ${f.node} is not in the scenario`);
  const kind = { 'pod-eth0': DeviceKind.POD_ETH0, 'host-veth': DeviceKind.HOST_VETH, 'vxlan-device': DeviceKind.VXLAN, underlay: DeviceKind.UNDERLAY }[f.observation_point];
  const d = dp.devices.all.filter((x) => x.node === node.index && x.kind === kind && x.name === f.interface && (f.pod === null || x.pod?.name === f.pod));
  if (d.length !== 1) throw new Error(`manifest ${f.file}: ${d.length} dpemu devices match ${f.node} ${f.interface} (${f.observation_point})`);
  return d[0];
}

/** One observation point: the kernel's capture there and dpemu's frames at the same device. */
export interface Point {
  readonly file: ManifestFile;
  readonly device: Device;
  readonly kernel: KFrame[];
  readonly dpemu: CapturedFrame[];
}

/** Every capture of the manifest next to dpemu's frames at its device. */
export function observationPoints(cluster: Cluster, run: Run, dir: string, m: Manifest): Point[] {
  return m.files.map((file) => {
    const device = deviceFor(cluster, run.dp, file);
    return { file, device, kernel: readFrames(join(dir, file.file), file.file), dpemu: inTimeOrder(run.cap.at(device.id), cluster.tunnel.port) };
  });
}

/**
 * Frame by frame: missing, extra, or differing bytes outside `maskOf(kernel frame)`, one line each
 * (empty when dpemu's frames at the point are the kernel's, in the same order).
 */
export function pointProblems(p: Point, maskOf: (f: Uint8Array) => ReadonlySet<number>, vxlanPort: number): string[] {
  const problems: string[] = [];
  const n = Math.max(p.kernel.length, p.dpemu.length);
  for (let i = 0; i < n; i++) {
    const k = p.kernel[i];
    const d = p.dpemu[i];
    if (!k || !d) {
      problems.push(`#${i + 1}: ${k ? `kernel ${describeFrame(k.bytes, vxlanPort)} missing in dpemu` : `dpemu extra ${describeFrame(d.bytes, vxlanPort)} (${d.comment})`}`);
      continue;
    }
    const diff = diffFrames(d.bytes, k.bytes, maskOf(k.bytes));
    if (diff.length) problems.push(`#${i + 1} ${describeFrame(k.bytes, vxlanPort)} vs dpemu ${describeFrame(d.bytes, vxlanPort)}: ${diff.join('; ')}`);
  }
  return problems;
}

/** A node's conntrack table in `conntrack -L` form (`-o extended` with `extended`), `now` in epoch seconds. */
export const ctLines = (dp: Dataplane, node: string, now: number, extended = false): string[] =>
  formatConntrackList(dp.contexts.find((c) => c.node.name === node)!.conntrack, now, extended);

/** Offset of the L4 checksum for TCP (16) and UDP (6), -1 otherwise. */
const l4CsumAt = (proto: number): number => (proto === 6 ? 16 : proto === 17 ? 6 : -1);

/**
 * The port a source NAT picked on `addr` in this TCP/UDP frame (the source port when the frame comes from
 * `addr`, the destination port when it goes to it), with the offsets that hold it and the L4 checksum
 * covering it; null when the frame is not TCP/UDP or does not involve `addr`.
 */
export function natPortAt(f: Uint8Array, addr: string, vxlanPort: number): { port: number; proto: number; offsets: number[] } | null {
  const ip = l3(f, vxlanPort);
  if (ip < 0) return null;
  const proto = f[ip + 9];
  const csum = l4CsumAt(proto);
  if (csum < 0) return null;
  const l4 = ip + (f[ip] & 15) * 4;
  const at = ipText(f, ip + 12) === addr ? l4 : ipText(f, ip + 16) === addr ? l4 + 2 : -1;
  if (at < 0) return null;
  return { port: rd16(f, at), proto, offsets: [at, at + 1, l4 + csum, l4 + csum + 1] };
}

/** The TCP or UDP checksum of the (inner) datagram verifies. */
export function l4ChecksumValid(f: Uint8Array, vxlanPort: number): boolean {
  const ip = l3(f, vxlanPort);
  const proto = f[ip + 9];
  const hl = (f[ip] & 15) * 4;
  const len = rd16(f, ip + 2) - hl;
  return finishChecksum(onesSum(f, ip + hl, len, pseudoSum4(f, ip + 12, ip + 16, proto, len))) === 0;
}

/**
 * Sent frames addressed to `addr`:`from` (`proto`) readdressed to `addr`:`to`, L4 checksum recomputed:
 * a server's replies in the capture go to the kernel's source NAT port; replayed through dpemu they must
 * go to dpemu's, as the server would have sent them there.
 */
export function readdressed(frames: readonly SentFrame[], addr: string, proto: number, from: number, to: number): SentFrame[] {
  return frames.map((k) => {
    const b0 = k.bytes;
    if (b0.length < 34 || b0[12] !== 8 || b0[13] !== 0 || b0[23] !== proto || ipText(b0, 30) !== addr) return k;
    const hl = (b0[14] & 15) * 4;
    const l4 = 14 + hl;
    if (rd16(b0, l4 + 2) !== from) return k;
    const b = b0.slice();
    const csum = l4 + l4CsumAt(proto);
    b[l4 + 2] = to >> 8;
    b[l4 + 3] = to & 255;
    b[csum] = 0;
    b[csum + 1] = 0;
    const len = rd16(b, 16) - hl;
    let c = finishChecksum(onesSum(b, l4, len, pseudoSum4(b, 26, 30, proto, len)));
    if (proto === 17 && c === 0) c = 0xffff;
    b[csum] = c >> 8;
    b[csum + 1] = c & 255;
    return { ...k, bytes: b };
  });
}

/**
 * A conntrack line split into what must equal the kernel's (`key`: protocol, state, tuples, flags) and
 * the remaining timeout. `masks`: ports the kernel chose at random, replaced by `*` — the VXLAN outer
 * source port (tunnel `vxlanPort`) and, per source NAT address, the port picked on it.
 */
export function normalizeConntrack(line: string, vxlanPort: number, masks: ReadonlyArray<{ addr: string; port: number }>): { key: string; timeout: number } {
  const m = line.match(/^(\w+)\s+(\d+) (\d+) (.*)$/);
  if (!m) throw new Error(`not a conntrack line: ${line}`);
  let rest = m[4]
    .replace(new RegExp(`sport=(\\d+) dport=${vxlanPort} `, 'g'), `sport=* dport=${vxlanPort} `)
    .replace(new RegExp(`sport=${vxlanPort} dport=(\\d+) `, 'g'), `sport=${vxlanPort} dport=* `);
  for (const { addr, port } of masks) {
    const a = addr.replace(/\./g, '\\.');
    rest = rest
      .replace(new RegExp(`(src=${a} dst=\\S+ )sport=${port} `, 'g'), '$1sport=* ')
      .replace(new RegExp(`(dst=${a} sport=\\d+ )dport=${port} `, 'g'), '$1dport=* ');
  }
  return { key: `${m[1]} ${m[2]} ${rest}`, timeout: Number(m[3]) };
}

/** Differences between dpemu's and the kernel's conntrack lines (normalized, sorted): keys, then timeouts beyond 1 s. */
export function conntrackProblems(
  dpemu: readonly string[],
  kernel: readonly string[],
  norm: (line: string, who: 'dpemu' | 'kernel') => { key: string; timeout: number },
): { keys: { dpemu: string[]; kernel: string[] }; timeouts: string[] } {
  const sortK = (xs: Array<{ key: string; timeout: number }>) => xs.sort((a, b) => a.key.localeCompare(b.key));
  const k = sortK(kernel.map((l) => norm(l, 'kernel')));
  const d = sortK(dpemu.map((l) => norm(l, 'dpemu')));
  const timeouts = d.length === k.length && d.every((x, i) => x.key === k[i].key)
    ? d.map((x, i) => `${x.key}: dpemu ${x.timeout} kernel ${k[i].timeout}`).filter((_, i) => Math.abs(d[i].timeout - k[i].timeout) > 1)
    : [];
  return { keys: { dpemu: d.map((x) => x.key), kernel: k.map((x) => x.key) }, timeouts };
}
