import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenarioFile, type Cluster } from '../../src/scenario/index.js';
import type { Manifest } from './kernel-captures.js';
import {
  conntrackProblems, ctLines, l3, l4ChecksumValid, natPortAt, normalizeConntrack, observationPoints, pointProblems,
  readdressed, replayOnce, type Point, type Run,
} from './replay-compare.js';
import { kernelScenarioDir, readScenarioManifest, scenarioConntrack, scenarioDumpTime, sentFrames, type SentFrame } from './scenario-captures.js';

/**
 * The Service hairpin (pcaps/kernel/hairpin, docs/services.md): pod-a connects to Service default/self
 * 10.96.6.6, whose only endpoint is pod-a itself. On the kernel test bed (dpemu's own rules loaded by
 * iptables-restore) node-1 DNATs the packet back to 10.244.1.5, KUBE-SEP's `-s 10.244.1.5 -j KUBE-MARK-MASQ`
 * marks it, POSTROUTING MASQUERADEs it to 10.0.1.5 (eth0's address: the cali veth has none) with a
 * --random-fully port, and it goes back out through the host veth it came in on; the reply is un-NATed
 * on the way back in both directions. Replaying the 12 frames pod-a sent (both ends of each flow) through
 * dpemu must give the kernel's frames at every observation point and node-1's conntrack entries.
 *
 * Mask: only HAIRPIN_MASK. No frame crosses the tunnel and no node generates a packet, so frame-mask.ts's
 * node-originated fields do not occur (the test checks that every other capture is empty in both).
 */
export const HAIRPIN_MASK = [
  {
    field: 'MASQUERADE --random-fully port on 10.0.1.5 (source port of the hairpinned request, destination port of its reply at pod-a) and the TCP/UDP checksum covering it',
    why: 'nf_nat_l4proto_unique_tuple() with NF_NAT_RANGE_PROTO_RANDOM_FULLY: prandom over 1024..65535 in the kernel, a seeded PRNG in dpemu',
    check: 'in 1024..65535 in both; one port per flow at every hop and in conntrack; checksums recomputed and valid',
  },
] as const;

const DIR = kernelScenarioDir('hairpin');
const VIP = '10.96.6.6';
const POD = '10.244.1.5';
const MASQ_ADDR = '10.0.1.5'; // node-1's eth0: MASQUERADE's inet_select_addr() on an address-less cali veth
const TCP = 6;
const UDP = 17;

let cluster: Cluster;
let manifest: Manifest;
let sent: SentFrame[];
let tmp: string;
let run: Run;
let points: Point[];
let passes = 0;
/** The masquerade ports per protocol: the kernel's and dpemu's. */
const kernelPorts = new Map<number, number>();
const dpemuPorts = new Map<number, number>();

/** The masquerade port in node-1's conntrack entry for pod-a's flow to the VIP (reply tuple dport). */
function masqPortInConntrack(lines: readonly string[], proto: number): number {
  const l = lines.find((x) => x.startsWith(proto === TCP ? 'tcp' : 'udp') && x.includes(`dst=${VIP}`));
  const m = l?.match(/src=10\.244\.1\.5 dst=10\.0\.1\.5 sport=\d+ dport=(\d+)/);
  return m ? Number(m[1]) : -1;
}

const maskOf = (f: Uint8Array): Set<number> => new Set(natPortAt(f, MASQ_ADDR, cluster.tunnel.port)?.offsets ?? []);

const conntrackMasks = (ports: ReadonlyMap<number, number>) => [...ports.values()].map((port) => ({ addr: MASQ_ADDR, port }));

beforeAll(async () => {
  const r = loadScenarioFile(join(DIR, 'scenario.yaml'));
  if (!r.ok) throw r.error;
  cluster = r.cluster;
  manifest = readScenarioManifest(DIR);
  sent = sentFrames(DIR, manifest, [], cluster.tunnel.port);
  tmp = mkdtempSync(join(tmpdir(), 'dpemu-hairpin-'));
  const kernelCt = scenarioConntrack(DIR, 'node-1');
  for (const p of [TCP, UDP]) kernelPorts.set(p, masqPortInConntrack(kernelCt, p));
  // pod-a's server frames in the capture go to the kernel's masquerade ports. Replay, learn the ports dpemu
  // picked (seeded), readdress the server frames to them as pod-a's sockets would have, and replay again
  // until dpemu picks the ports the input assumes (the first pass's misaddressed replies change what
  // happens before the UDP flow, so its port may move once).
  let assumed = new Map(kernelPorts);
  for (passes = 1; passes <= 4; passes++) {
    let input = sent;
    for (const p of [TCP, UDP]) input = readdressed(input, MASQ_ADDR, p, kernelPorts.get(p)!, assumed.get(p)!);
    run = await replayOnce(cluster, input, tmp, `pass${passes}.pcapng`);
    const ct = ctLines(run.dp, 'node-1', scenarioDumpTime(DIR));
    const picked = new Map([TCP, UDP].map((p) => [p, masqPortInConntrack(ct, p)] as const));
    if ([TCP, UDP].every((p) => picked.get(p) === assumed.get(p))) break;
    assumed = picked;
  }
  for (const [p, port] of assumed) dpemuPorts.set(p, port);
  points = observationPoints(cluster, run, DIR, manifest);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Service hairpin: replaying pod-a\'s frames reproduces the kernel captures (pcaps/kernel/hairpin)', () => {
  it('input: pod-a\'s own frames (client and server of each flow), in time order', () => {
    // TCP: 6 from the client (SYN, ACK, request, ACK, FIN, last ACK), 4 from the server (SYN-ACK, ACK,
    // response, FIN); UDP: the query and the reply.
    expect(sent.length).toBe(12);
    for (let i = 1; i < sent.length; i++) expect(sent[i].ts >= sent[i - 1].ts).toBe(true);
  });

  it('the replay settles: dpemu picks the masquerade ports its input was readdressed to', () => {
    expect(passes).toBeLessThanOrEqual(4);
    for (const p of [TCP, UDP]) {
      for (const port of [kernelPorts.get(p)!, dpemuPorts.get(p)!]) {
        expect(port).toBeGreaterThanOrEqual(1024);
        expect(port).toBeLessThanOrEqual(65535);
      }
    }
  });

  it('the manifest maps every capture to exactly one dpemu device', () => {
    expect(points.length).toBe(14);
    expect(new Set(points.map((p) => p.device.id)).size).toBe(14);
  });

  it.each(readScenarioManifest(DIR).files.map((f) => [f.file] as const))('%s: same frames, same order, byte for byte outside the masquerade port', (file) => {
    const p = points.find((x) => x.file.file === file)!;
    expect(pointProblems(p, maskOf, cluster.tunnel.port), `${file} (${p.device.label}): kernel ${p.kernel.length} frames, dpemu ${p.dpemu.length}`).toEqual([]);
    // Only pod-a's veth pair sees the hairpin (24 frames: each of the 12 out and back); nothing anywhere else.
    const pair = p.file.node === 'node-1' && p.file.pod === 'pod-a';
    expect(p.kernel.length).toBe(pair ? 24 : 0);
  });

  it('hop by hop: out to the VIP with TTL 64, back DNATed to pod-a and masqueraded to 10.0.1.5 with TTL 63; replies un-NATed', () => {
    const pod = points.find((p) => p.file.observation_point === 'pod-eth0' && p.file.pod === 'pod-a')!;
    const show = (f: Uint8Array): string => {
      const ip = l3(f, cluster.tunnel.port);
      const l4 = ip + (f[ip] & 15) * 4;
      const port = (o: number): string => {
        const n = (f[o] << 8) | f[o + 1];
        return [...kernelPorts.values(), ...dpemuPorts.values()].includes(n) ? '*' : String(n);
      };
      const ipt = (o: number): string => `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;
      return `${f[ip + 9] === TCP ? 'tcp' : 'udp'} ${ipt(ip + 12)}:${port(l4)} > ${ipt(ip + 16)}:${port(l4 + 2)} ttl ${f[ip + 8]}`;
    };
    const expected = [
      ...Array.from({ length: 6 }, () => [`tcp ${POD}:52345 > ${VIP}:80 ttl 64`, `tcp ${MASQ_ADDR}:* > ${POD}:8080 ttl 63`]),
      ...Array.from({ length: 4 }, () => [`tcp ${POD}:8080 > ${MASQ_ADDR}:* ttl 64`, `tcp ${VIP}:80 > ${POD}:52345 ttl 63`]),
      [`udp ${POD}:40000 > ${VIP}:53 ttl 64`, `udp ${MASQ_ADDR}:* > ${POD}:5353 ttl 63`],
      [`udp ${POD}:5353 > ${MASQ_ADDR}:* ttl 64`, `udp ${VIP}:53 > ${POD}:40000 ttl 63`],
    ].flat().sort();
    expect(pod.kernel.map((k) => show(k.bytes)).sort()).toEqual(expected);
    expect(pod.dpemu.map((d) => show(d.bytes)).sort()).toEqual(expected);
  });

  it('masked: one masquerade port per flow at every hop, TCP/UDP checksums over it valid', () => {
    const seen = { kernel: new Map<number, Set<number>>(), dpemu: new Map<number, Set<number>>() };
    const bad: string[] = [];
    let frames = 0;
    for (const p of points) {
      for (const [who, fs] of [['kernel', p.kernel.map((f) => f.bytes)], ['dpemu', p.dpemu.map((f) => f.bytes)]] as const) {
        fs.forEach((f, i) => {
          const nat = natPortAt(f, MASQ_ADDR, cluster.tunnel.port);
          if (!nat) return;
          frames++;
          const s = seen[who].get(nat.proto) ?? new Set<number>();
          seen[who].set(nat.proto, s.add(nat.port));
          if (!l4ChecksumValid(f, cluster.tunnel.port)) bad.push(`${who} ${p.file.file} #${i + 1}: L4 checksum`);
        });
      }
    }
    expect(bad).toEqual([]);
    for (const p of [TCP, UDP]) {
      expect([...seen.kernel.get(p)!]).toEqual([kernelPorts.get(p)]);
      expect([...seen.dpemu.get(p)!]).toEqual([dpemuPorts.get(p)]);
    }
    // 12 frames carry 10.0.1.5 (6 TCP requests and 4 replies, the UDP pair) at pod-a's eth0 and its cali; both sides.
    expect(frames).toBe(2 * 2 * 12);
  });
});

/**
 * Conntrack: node-1 holds one entry per flow (original pod-a -> VIP, reply pod-a -> 10.0.1.5:<masq port>),
 * nodes 2 and 3 none. The masquerade ports are replaced by `*`; timeouts are dpemu's remaining seconds at
 * the kernel's dump time (conntrack-time.txt), within 1 s.
 */
describe('Service hairpin: conntrack -L per node equals the kernel\'s', () => {
  const norm = (l: string, who: 'dpemu' | 'kernel') => normalizeConntrack(l, cluster.tunnel.port, conntrackMasks(who === 'kernel' ? kernelPorts : dpemuPorts));

  it.each(['node-1', 'node-2', 'node-3'])('%s: same entries (state, tuples, flags), timeouts within 1 s at dump time', (node) => {
    const r = conntrackProblems(ctLines(run.dp, node, scenarioDumpTime(DIR)), scenarioConntrack(DIR, node), norm);
    expect(r.keys.dpemu).toEqual(r.keys.kernel);
    expect(r.timeouts).toEqual([]);
  });

  it.each(['node-1', 'node-2', 'node-3'])('%s: -o extended lines are the kernel\'s (node-N.conntrack-extended.txt)', (node) => {
    const PREFIX = 'ipv4     2 ';
    const kernel = scenarioConntrack(DIR, node, true);
    const ext = ctLines(run.dp, node, scenarioDumpTime(DIR), true);
    for (const l of [...kernel, ...ext]) expect(l.startsWith(PREFIX), l).toBe(true);
    const keys = (lines: string[], who: 'dpemu' | 'kernel') => lines.map((l) => norm(l.slice(PREFIX.length), who).key).sort();
    expect(keys(ext, 'dpemu')).toEqual(keys(kernel, 'kernel'));
  });

  it('node-1: the hairpin entries, DNAT to pod-a and SNAT to 10.0.1.5 in one tuple pair', () => {
    const want = [
      /^tcp +6 \d+ TIME_WAIT src=10\.244\.1\.5 dst=10\.96\.6\.6 sport=52345 dport=80 src=10\.244\.1\.5 dst=10\.0\.1\.5 sport=8080 dport=\d+ \[ASSURED\] mark=0 use=1$/,
      /^udp +17 \d+ src=10\.244\.1\.5 dst=10\.96\.6\.6 sport=40000 dport=53 src=10\.244\.1\.5 dst=10\.0\.1\.5 sport=5353 dport=\d+ mark=0 use=1$/,
    ];
    for (const lines of [scenarioConntrack(DIR, 'node-1'), ctLines(run.dp, 'node-1', scenarioDumpTime(DIR))]) {
      expect(lines.length).toBe(2);
      for (const re of want) expect(lines.some((l) => re.test(l)), `${re} in\n${lines.join('\n')}`).toBe(true);
    }
  });
});
