import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenarioFile, type Cluster } from '../../src/scenario/index.js';
import { isVxlan, maskedChecksumsValid, OFF } from './frame-mask.js';
import type { Manifest } from './kernel-captures.js';
import {
  conntrackProblems, ctLines, describeFrame, l4ChecksumValid, natPortAt, nodeIcmpError, normalizeConntrack,
  observationPoints, pointProblems, rd16, readdressed, replayOnce, type Point, type Run,
} from './replay-compare.js';
import { kernelScenarioDir, readScenarioManifest, scenarioConntrack, scenarioDumpTime, sentFrames, type SentFrame } from './scenario-captures.js';

/**
 * The kube-proxy/conntrack issue's acceptance test (pcaps/kernel/service, docs/services.md): the
 * frames the clients and servers sent on the kernel test bed, with dpemu's own rules loaded there
 * by iptables-restore, replayed through dpemu with the same scenario, give at every observation
 * point the kernel's frames, and each node's conntrack table lists the kernel's entries.
 *
 * Mask: frame-mask.ts's MASKED_FIELDS (outer VXLAN ID/checksum/source port, IDs and checksums of
 * ICMP errors a node generates) plus SERVICE_MASK below (the MASQUERADE --random-fully port).
 */

/** The one field the Service scenario adds to MASKED_FIELDS. */
export const SERVICE_MASK = [
  {
    field: 'MASQUERADE --random-fully source port (the port on the masquerade address 10.244.1.0) and the TCP checksum covering it',
    why: 'nf_nat_l4proto_unique_tuple() with NF_NAT_RANGE_PROTO_RANDOM_FULLY: prandom over 1024..65535 in the kernel, a seeded PRNG in dpemu',
    check: 'in 1024..65535 in both; one port per connection (every frame of the NodePort flow, at every hop and in both conntrack tables, uses the same port); TCP checksums recomputed and valid',
  },
] as const;

const SERVICE_DIR = kernelScenarioDir('service');
const MASQ_ADDR = '10.244.1.0'; // flannel.1's address on node-1: MASQUERADE's source towards node-3

let cluster: Cluster;
let manifest: Manifest;
let sent: SentFrame[];
let tmp: string;
let nodeIps: Set<string>;
let run: Run;
let points: Point[];
/** The masquerade port the kernel picked, and dpemu's. */
let kernelPort = -1;
let dpemuPort = -1;

/**
 * Offsets to ignore: MASKED_FIELDS narrowed to headers a node's stack writes (the outer VXLAN header
 * and ICMP errors a node sends; NOT every frame whose source is a node address: the NodePort client
 * is node-2's stack, replayed from the capture, and the un-NATed reply from 10.0.1.5 carries backend-b's
 * IP ID) plus SERVICE_MASK: the masquerade port and the L4 checksum that covers it.
 */
function maskOf(f: Uint8Array): Set<number> {
  const m = new Set<number>();
  const add = (o: number): void => void m.add(o).add(o + 1);
  if (isVxlan(f, cluster.tunnel.port)) [OFF.IP_ID, OFF.IP_CSUM, OFF.UDP_SPORT, OFF.UDP_CSUM].forEach(add);
  if (nodeIcmpError(f, nodeIps)) [OFF.IP_ID, OFF.IP_CSUM].forEach(add);
  for (const o of natPortAt(f, MASQ_ADDR, cluster.tunnel.port)?.offsets ?? []) m.add(o);
  return m;
}

/** The masquerade port in a frame of the NodePort flow (-1 when the frame is not one). */
const masqPortOf = (f: Uint8Array): number => natPortAt(f, MASQ_ADDR, cluster.tunnel.port)?.port ?? -1;

/** The masquerade port in node-1's conntrack entry for the NodePort connection (reply tuple dport). */
function masqPortInConntrack(lines: readonly string[]): number {
  const l = lines.find((x) => / dport=30080 /.test(x));
  const m = l?.match(/src=10\.244\.3\.9 dst=10\.244\.1\.0 sport=8080 dport=(\d+)/);
  return m ? Number(m[1]) : -1;
}

const kernelConntrack = (node: string): string[] => scenarioConntrack(SERVICE_DIR, node);
const conntrackDumpTime = (): number => scenarioDumpTime(SERVICE_DIR);

beforeAll(async () => {
  const r = loadScenarioFile(join(SERVICE_DIR, 'scenario.yaml'));
  if (!r.ok) throw r.error;
  cluster = r.cluster;
  manifest = readScenarioManifest(SERVICE_DIR);
  nodeIps = new Set(cluster.nodes.map((n) => n.ip));
  const node2 = manifest.topology as unknown as { nodes: Array<{ name: string; nic_mac: string }> };
  sent = sentFrames(SERVICE_DIR, manifest, node2.nodes.filter((n) => n.name === 'node-2').map((n) => ({ name: n.name, mac: n.nic_mac })), cluster.tunnel.port);
  tmp = mkdtempSync(join(tmpdir(), 'dpemu-service-'));
  // Pass 1 learns dpemu's masquerade port (seeded: the same in pass 2, whose input up to the SYN is
  // identical); pass 2 replays backend-b's replies addressed to it, as backend-b would have sent them.
  const first = await replayOnce(cluster, sent, tmp, 'pass1.pcapng');
  kernelPort = masqPortInConntrack(kernelConntrack('node-1'));
  dpemuPort = masqPortInConntrack(ctLines(first.dp, 'node-1', conntrackDumpTime()));
  run = await replayOnce(cluster, readdressed(sent, MASQ_ADDR, 6, kernelPort, dpemuPort), tmp, 'pass2.pcapng');
  points = observationPoints(cluster, run, SERVICE_DIR, manifest);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Service scenario: replaying the sent frames reproduces the kernel captures (pcaps/kernel/service)', () => {
  it('input: the pods\' and node-2\'s own frames, in time order', () => {
    // pod-a: 6 TCP to the VIP + 1 DNS + 1 SYN to the no-endpoint VIP; backend-a 4 TCP; coredns-0 1;
    // backend-b 4 TCP (NodePort backend); node-2's stack 6 TCP to the NodePort + 1 SYN to :30404.
    expect(sent.length).toBe(24);
    for (let i = 1; i < sent.length; i++) expect(sent[i].ts >= sent[i - 1].ts).toBe(true);
  });

  it('the masquerade port: kernel and dpemu each picked one in 1024..65535', () => {
    expect(kernelPort).toBeGreaterThanOrEqual(1024);
    expect(dpemuPort).toBeGreaterThanOrEqual(1024);
    expect(kernelPort).toBeLessThanOrEqual(65535);
    expect(dpemuPort).toBeLessThanOrEqual(65535);
  });

  it('the manifest maps every capture to exactly one dpemu device', () => {
    expect(points.length).toBe(14);
    expect(new Set(points.map((p) => p.device.id)).size).toBe(14);
  });

  it.each(readScenarioManifest(SERVICE_DIR).files.map((f) => [f.file] as const))('%s: same frames, same order, byte for byte outside the documented mask', (file) => {
    const p = points.find((x) => x.file.file === file)!;
    const problems = pointProblems(p, maskOf, cluster.tunnel.port);
    expect(problems, `${file} (${p.device.label}): kernel ${p.kernel.length} frames, dpemu ${p.dpemu.length}`).toEqual([]);
    expect(p.kernel.length).toBeGreaterThan(0);
  });

  it('masked: the masquerade port is one per connection at every hop, TCP checksums over it valid', () => {
    const seen = { kernel: new Set<number>(), dpemu: new Set<number>() };
    const bad: string[] = [];
    let frames = 0;
    for (const p of points) {
      for (const [who, fs] of [['kernel', p.kernel.map((f) => f.bytes)], ['dpemu', p.dpemu.map((f) => f.bytes)]] as const) {
        fs.forEach((f, i) => {
          const port = masqPortOf(f);
          if (port < 0) return;
          frames++;
          seen[who].add(port);
          if (!l4ChecksumValid(f, cluster.tunnel.port)) bad.push(`${who} ${p.file.file} #${i + 1}: TCP checksum`);
        });
      }
    }
    expect(bad).toEqual([]);
    expect([...seen.kernel]).toEqual([kernelPort]);
    expect([...seen.dpemu]).toEqual([dpemuPort]);
    // 10 segments at node-1 flannel.1 and eth0, node-3 eth0, flannel.1, cali and backend-b eth0; both sides.
    expect(frames).toBe(2 * 6 * 10);
  });

  it('masked: node-written checksums valid, IDs non-zero; outer source ports shared exactly where the kernel shares them', () => {
    const bad: string[] = [];
    const kToD = new Map<number, number>();
    const dToK = new Map<number, number>();
    for (const p of points) {
      p.kernel.forEach((k, i) => {
        const d = p.dpemu[i]?.bytes;
        for (const [who, f] of [['kernel', k.bytes], ['dpemu', d]] as const) {
          if (!f || !(isVxlan(f, cluster.tunnel.port) || nodeIcmpError(f, nodeIps))) continue;
          const why = maskedChecksumsValid(f, cluster.tunnel.port);
          if (rd16(f, OFF.IP_ID) === 0 && !nodeIcmpError(f, nodeIps)) why.push('IPv4 ID is zero');
          if (why.length) bad.push(`${who} ${p.file.file} #${i + 1}: ${why.join(', ')}`);
        }
        if (!d || p.file.observation_point !== 'underlay' || !isVxlan(k.bytes, cluster.tunnel.port)) return;
        const ks = rd16(k.bytes, OFF.UDP_SPORT);
        const ds = rd16(d, OFF.UDP_SPORT);
        if (ds < 32768 || ds > 60999) bad.push(`${p.file.file} #${i + 1}: dpemu outer port ${ds}`);
        if ((kToD.get(ks) ?? ds) !== ds || (dToK.get(ds) ?? ks) !== ks) bad.push(`${p.file.file} #${i + 1} ${describeFrame(k.bytes, cluster.tunnel.port)}: kernel port ${ks} dpemu ${ds}`);
        kToD.set(ks, ds);
        dToK.set(ds, ks);
      });
    }
    expect(bad).toEqual([]);
    // TCP via the VIP (2 directions), DNS (1, symmetric), NodePort node-1 <-> node-3 (2).
    expect(kToD.size).toBe(5);
  });
});

/**
 * Conntrack: per node the same entries. Ports the kernel chose at random (VXLAN outer source port,
 * the masquerade port) are replaced by `*` after checking they are the ones the frames carry; timeouts
 * are dpemu's remaining seconds at the kernel's dump time (conntrack-time.txt), within 1 s (rounding).
 */
const normalize = (line: string, masq: number): { key: string; timeout: number } =>
  normalizeConntrack(line, cluster.tunnel.port, [{ addr: MASQ_ADDR, port: masq }]);

describe('Service scenario: conntrack -L per node equals the kernel\'s', () => {
  it.each(['node-1', 'node-2', 'node-3'])('%s: same entries (state, tuples, flags), timeouts within 1 s at dump time', (node) => {
    const r = conntrackProblems(ctLines(run.dp, node, conntrackDumpTime()), kernelConntrack(node), (l, who) => normalize(l, who === 'kernel' ? kernelPort : dpemuPort));
    expect(r.keys.dpemu).toEqual(r.keys.kernel);
    expect(r.timeouts).toEqual([]);
  });

  it.each(['node-1', 'node-2', 'node-3'])('%s: -o extended lines are the kernel\'s (node-N.conntrack-extended.txt)', (node) => {
    const now = conntrackDumpTime();
    const PREFIX = 'ipv4     2 ';
    const kernel = scenarioConntrack(SERVICE_DIR, node, true);
    const ext = ctLines(run.dp, node, now, true);
    for (const l of [...kernel, ...ext]) expect(l.startsWith(PREFIX), l).toBe(true);
    const key = (lines: string[], masq: number) => lines.map((l) => normalize(l.slice(PREFIX.length), masq).key).sort();
    expect(key(ext, dpemuPort)).toEqual(key(kernel, kernelPort));
  });

  it('the reference walk: node-1 holds the DNAT entry pod-a -> 10.96.5.20:80 replied by backend-a', () => {
    expect(kernelConntrack('node-1').some((l) => /TIME_WAIT src=10\.244\.1\.5 dst=10\.96\.5\.20 sport=52345 dport=80 src=10\.244\.2\.8 dst=10\.244\.1\.5 sport=8080 dport=52345 \[ASSURED\]/.test(l))).toBe(true);
    expect(ctLines(run.dp, 'node-1', conntrackDumpTime()).some((l) => /TIME_WAIT src=10\.244\.1\.5 dst=10\.96\.5\.20 sport=52345 dport=80 src=10\.244\.2\.8 dst=10\.244\.1\.5 sport=8080 dport=52345 \[ASSURED\]/.test(l))).toBe(true);
  });
});
