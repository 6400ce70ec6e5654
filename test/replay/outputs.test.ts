/**
 * `dpemu replay --write-pcaps DIR` and `--stats` of the bundled walk, checked with tshark and
 * against what a DeviceCapture on the same replay saw.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCapturePath } from '../../src/cli/replay-command.js';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import type { EngineObserver } from '../../src/engine/runtime.js';
import { DeviceCapture } from '../../src/observe/device-capture.js';
import { writeNodePcaps } from '../../src/observe/write-pcaps.js';
import { replay } from '../../src/replay/replay.js';
import { loadCluster } from '../helpers/dataplane-harness.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { NATIVE_STAGES } from '../../src/native/stages.js';

const dir = mkdtempSync(join(tmpdir(), 'dpemu-pcaps-'));
let run: CliRun;
let seen: Map<string, number>;

function tshark(file: string, fields: string[], filter?: string): string[][] {
  const args = ['-r', file, '-T', 'fields', '-d', 'udp.port==8472,vxlan', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f])];
  if (filter) args.push('-Y', filter);
  const text = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return text.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

beforeAll(async () => {
  run = await runCli(['replay', '--write-pcaps', dir]);
  // The same replay with a DeviceCapture of our own: frames per device label.
  const cluster = loadCluster();
  const observers: EngineObserver[] = [];
  const dp = new Dataplane(cluster, { observers });
  const cap = new DeviceCapture(dp.pool, dp.devices.all);
  observers.push(cap);
  await replay({ capture: defaultCapturePath(), cluster }, dp);
  seen = new Map();
  for (const f of cap.frames) {
    const d = dp.devices.get(f.device);
    const file = cluster.nodes[d.node].name;
    const key = `${file}\t${d.label}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dpemu replay --write-pcaps', () => {
  it('writes one pcapng per node and says so on stderr', () => {
    expect(run.code).toBe(0);
    for (const n of ['node-1', 'node-2', 'node-3']) expect(existsSync(join(dir, `${n}.pcapng`))).toBe(true);
    expect(run.err).toMatch(/^wrote .*node-1\.pcapng, .*node-2\.pcapng, .*node-3\.pcapng\n$/);
  });

  it('tshark lists each frame with its device as interface name and a comment naming frame, device and stage', () => {
    const rows = tshark(join(dir, 'node-1.pcapng'), ['frame.interface_name', 'frame.comment']);
    expect(rows.length).toBeGreaterThan(0);
    const names = new Set(rows.map((r) => r[0]));
    expect([...names].sort()).toEqual(['default/pod-a eth0', 'node-1 cali5e1c4d6c68c', 'node-1 eth0', 'node-1 flannel.1']);
    for (const [name, comment] of rows) expect(comment).toMatch(new RegExp(`^frame \\d+: (sent by|received by) ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\([a-z0-9-]+\\)`));
    expect(rows[0]).toEqual(['default/pod-a eth0', 'frame 1: sent by default/pod-a eth0 (veth-xmit)']);
    // The DF echo's last sighting names the drop.
    expect(rows.some(([, c]) => /^frame 19: .*; then DROPPED by ip4-forward: FRAG_NEEDED/.test(c))).toBe(true);
  });

  it('writes each node\'s frames in timestamp order (the engine observes them vector by vector)', () => {
    for (const n of ['node-1', 'node-2', 'node-3']) {
      const t = tshark(join(dir, `${n}.pcapng`), ['frame.time_epoch']).map((r) => Number(r[0]));
      expect(t.length).toBeGreaterThan(0);
      for (let i = 1; i < t.length; i++) expect(t[i], `${n} frame ${i + 1}`).toBeGreaterThanOrEqual(t[i - 1]!);
    }
  });

  it('has, per node and interface, exactly the frames DeviceCapture saw at that device', () => {
    const written = new Map<string, number>();
    for (const n of ['node-1', 'node-2', 'node-3']) {
      for (const [name] of tshark(join(dir, `${n}.pcapng`), ['frame.interface_name'])) {
        const key = `${n}\t${name}`;
        written.set(key, (written.get(key) ?? 0) + 1);
      }
    }
    expect(Object.fromEntries(written)).toEqual(Object.fromEntries(seen));
  });

  it('frames node-1 eth0 sends decode as VXLAN (VNI 1) with the inner TTL 63', () => {
    const rows = tshark(join(dir, 'node-1.pcapng'), ['vxlan.vni', 'ip.ttl', 'ip.src'], 'frame.interface_name == "node-1 eth0" && eth.src == 02:00:0a:00:01:05');
    expect(rows.length).toBeGreaterThan(0);
    for (const [vni, ttls, srcs] of rows) {
      expect(vni).toBe('1');
      const [outerTtl, innerTtl] = ttls.split(',');
      expect(outerTtl).toBe('64');
      expect(innerTtl).toBe('63');
      expect(srcs.split(',')[0]).toBe('10.0.1.5');
    }
  });
});

describe('dpemu replay --stats', () => {
  let stats: CliRun;
  beforeAll(async () => {
    stats = await runCli(['replay', '--stats']);
  });

  it('show runtime: per node, every stage row with engine, calls, packets and packets/call', () => {
    expect(stats.code).toBe(0);
    const node1 = stats.out.split('Node node-1\n')[1].split('\n\n')[0].split('\n');
    expect(node1[0].split(/\s+/)).toEqual(['Stage', 'Engine', 'Calls', 'Packets', 'Packets/Call', 'ns/Packet', 'Drops']);
    const rows = new Map(node1.slice(1).map((l) => {
      const c = l.trim().split(/\s+/);
      return [c[0], c];
    }));
    for (const stage of ['frame-input', 'veth-xmit', 'ethernet-input', 'ip4-input', 'ip4-defrag', 'ip4-lookup', 'ip4-forward', 'ip4-output', 'vxlan4-encap', 'vxlan4-decap', 'underlay-xmit']) {
      const c = rows.get(stage);
      expect(c, stage).toBeDefined();
      const [, engine, calls, packets, perCall] = c!;
      // The overlay fast-path stages run in the native addon (the default when it is built; CI builds it).
      expect(engine).toMatch(NATIVE_STAGES.includes(stage) ? /^native(\+ts)?$/ : /^ts$/);
      expect(Number(calls)).toBeGreaterThan(0);
      expect(Number(packets)).toBeGreaterThanOrEqual(Number(calls));
      expect(Number(perCall)).toBeCloseTo(Number(packets) / Number(calls), 2);
    }
    expect(rows.get('ip4-forward')![6]).toBe('1');
    expect(stats.out).toMatch(/^Node node-2$/m);
    expect(stats.out).toMatch(/^Node node-3$/m);
  });

  it('show errors: lists FRAG_NEEDED on node-1 ip4-forward, once', () => {
    expect(stats.out).toMatch(/^Count\s+Node\s+Stage\s+Reason\s+Text$/m);
    expect(stats.out).toMatch(/^\s+1\s+node-1\s+ip4-forward\s+FRAG_NEEDED \(221\)\s+Fragmentation needed and DF set \(ICMP sent\)$/m);
  });
});

describe('--write-pcaps writes as the replay goes', () => {
  it('vector by vector, the files equal those written from the whole capture at once (batched vectors: replies sorted within)', async () => {
    const streamed = join(dir, 'streamed');
    const r = await runCli(['replay', '--batch', '--write-pcaps', streamed]);
    expect(r.code).toBe(0);
    const cluster = loadCluster();
    const observers: EngineObserver[] = [];
    const dp = new Dataplane(cluster, { observers });
    const cap = new DeviceCapture(dp.pool, dp.devices.all);
    observers.push(cap);
    await replay({ capture: defaultCapturePath(), cluster, batching: 'answers' }, dp);
    const whole = join(dir, 'whole');
    await writeNodePcaps(whole, cluster, dp.devices, cap, 'dpemu');
    for (const n of ['node-1', 'node-2', 'node-3']) expect(readFileSync(join(streamed, `${n}.pcapng`)).equals(readFileSync(join(whole, `${n}.pcapng`))), n).toBe(true);
  });

  it('DeviceCapture.take hands over the frames and keeps nothing (memory stays bounded on a long capture)', async () => {
    const cluster = loadCluster();
    const observers: EngineObserver[] = [];
    const dp = new Dataplane(cluster, { observers });
    const cap = new DeviceCapture(dp.pool, dp.devices.all);
    observers.push(cap);
    let taken = 0;
    await replay({ capture: defaultCapturePath(), cluster, onVector: () => void (taken += cap.take().length) }, dp);
    expect(cap.frames).toEqual([]);
    expect(taken).toBeGreaterThan(100);
  });
});
