import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultScenarioPath, packageRoot } from '../../src/scenario/index.js';
import { captureFiles, scenarioCluster } from '../helpers/capture-files.js';
import type { Cluster } from '../../src/scenario/index.js';
import { podSentFrames, readManifest, writePcap } from '../kernel/kernel-captures.js';
import { assertNativeBuilt, replayDigest } from './parity-helpers.js';

/**
 * Parity, captures: every capture in pcaps/ (with the scenario of its directory), the kernel
 * pod-to-pod frames as the pods sent them, the bundled walk under the eBPF scenarios, and the
 * capture corpus (malformed frames included), replayed with --engine ts and --engine native at
 * several vector sizes: identical device frames, results and counters.
 */
assertNativeBuilt();
const root = packageRoot();

const defaultCluster = scenarioCluster(defaultScenarioPath());
/** A capture's scenario: the scenario.yaml beside it (pcaps/kernel/service, pcaps/kernel/hairpin), else the default. */
const clusters = new Map<string, Cluster>();
function scenarioOf(p: string): Cluster {
  const yaml = join(dirname(p), 'scenario.yaml');
  if (!existsSync(yaml)) return defaultCluster;
  if (!clusters.has(yaml)) clusters.set(yaml, scenarioCluster(yaml));
  return clusters.get(yaml)!;
}

async function expectParity(capture: string, c: Cluster, vectorSize: number): Promise<number> {
  const ts = await replayDigest(capture, c, 'ts', vectorSize);
  const nat = await replayDigest(capture, c, 'native', vectorSize);
  expect(nat.counters).toEqual(ts.counters);
  expect(nat.results).toEqual(ts.results);
  expect(nat.frames).toEqual(ts.frames);
  expect(nat.conntrack).toEqual(ts.conntrack);
  expect(nat.maps).toEqual(ts.maps);
  return nat.nativePackets;
}

let tmp = '';
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('native parity: pcaps/', () => {
  for (const p of captureFiles(join(root, 'pcaps'))) {
    it(`${relative(root, p)}`, async () => {
      for (const v of [256, 1, 7]) await expectParity(p, scenarioOf(p), v);
    });
  }
  it('the walk exercises the native stages (most packets of the overlay stages run natively)', async () => {
    const d = await replayDigest(join(root, 'pcaps/default/walk.pcapng'), defaultCluster, 'native');
    expect(d.nativePackets).toBeGreaterThan(100);
  });
});

describe('native parity: kernel pod-to-pod, frames as the pods sent them', () => {
  it('pods-sent.pcap', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'dpemu-native-'));
    const pcap = join(tmp, 'pods-sent.pcap');
    await writePcap(pcap, podSentFrames(readManifest()));
    for (const v of [256, 3]) expect(await expectParity(pcap, defaultCluster, v)).toBeGreaterThan(0);
  });
});

describe('native parity: the walk under the pcaps/scenarios/*.yaml clusters', () => {
  for (const s of readdirSync(join(root, 'pcaps/scenarios')).filter((f) => f.endsWith('.yaml'))) {
    it(s, async () => {
      // The pod-to-pod walk and the Service walk (pod-a -> 10.96.5.20:80: the socket LB, IPVS scheduling).
      for (const w of ['pcaps/default/walk.pcapng', 'pcaps/kernel/service/walk.pcapng']) {
        for (const v of [256, 3]) await expectParity(join(root, w), scenarioCluster(join(root, 'pcaps/scenarios', s)), v);
      }
    });
  }
});

describe('native parity: the capture corpus (test/fixtures/corpus, malformed frames included)', () => {
  const corpus = join(root, 'test/fixtures/corpus');
  // The corpus's senders are no pod or node of the cluster: attached by sender, every frame would end at
  // frame-input (UNKNOWN_SENDER) and no native stage after it would run. Attached at node-1's NIC (as
  // received from the underlay) and at pod-a's eth0 (as sent by the pod), the frames go through the stages.
  const native = { 'node-1': 0, 'default/pod-a': 0 };
  for (const path of captureFiles(corpus)) {
    const f = basename(path);
    it(f, async () => {
      for (const at of ['node-1', 'default/pod-a'] as const) {
        // Unreadable captures fail the same way in both engines (the reader runs before any stage).
        const run = (e: 'ts' | 'native') => replayDigest(path, defaultCluster, e, 256, at).then((d) => ({ d, err: '' }), (err: Error) => ({ d: null, err: `${err.name}: ${err.message}` }));
        const [a, b] = [await run('ts'), await run('native')];
        expect(b.err).toBe(a.err);
        if (a.d && b.d) {
          expect(b.d.counters).toEqual(a.d.counters);
          expect(b.d.results).toEqual(a.d.results);
          expect(b.d.frames).toEqual(a.d.frames);
          expect(b.d.conntrack).toEqual(a.d.conntrack);
          expect(b.d.maps).toEqual(a.d.maps);
          native[at] += b.d.nativePackets;
        }
      }
    });
  }
  it('the corpus ran through the native stages at both attach points', () => {
    expect(native['node-1']).toBeGreaterThan(10_000);
    expect(native['default/pod-a']).toBeGreaterThan(10_000);
  });
});
