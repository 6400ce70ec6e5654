/**
 * ns/packet of the native stages vs their TypeScript versions on the same frames: pod-a sends UDP
 * to backend-b on another node (ethernet-input, ip4-input, ip4-forward, vxlan4-encap on the sender,
 * vxlan4-decap on the receiver), in vectors of 256, timed by the engine's per-call hook.
 * Run: `npx vite-node src/native/bench.ts` (needs the addon: npm run build:native).
 */
import { Dataplane } from '../dataplane/dataplane.js';
import { buildFrame } from '../packet/build.js';
import { defaultScenarioPath, loadScenarioFile } from '../scenario/index.js';
import type { EngineName } from './loader.js';
import { NATIVE_STAGES } from './stages.js';

const r = loadScenarioFile(defaultScenarioPath());
if (!r.ok) throw r.error;
const cluster = r.cluster;
const podA = cluster.pods.find((p) => p.name === 'pod-a')!;
const dst = cluster.pods.find((p) => p.name === 'backend-b')!;
const FRAMES = 256;
const frames = Array.from({ length: FRAMES }, (_, i) => buildFrame([
  { type: 'eth', src: podA.mac, dst: 'ee:ee:ee:ee:ee:ee' },
  { type: 'ipv4', src: podA.ip, dst: dst.ip },
  { type: 'udp', srcPort: 40000 + (i % 64), dstPort: 8080 },
], new Uint8Array(64 + (i % 4) * 300)));

function run(engine: EngineName, rounds: number): Map<string, { ns: number; packets: number }> {
  const dp = new Dataplane(cluster, { engine, poolSize: 4096 });
  const acc = new Map<string, { ns: number; packets: number }>();
  let t = 1_700_000_000;
  const once = (record: boolean): void => {
    dp.engine.onCall = record ? (rt, n, ns) => {
      const a = acc.get(rt.stage) ?? { ns: 0, packets: 0 };
      a.ns += ns;
      a.packets += n;
      acc.set(rt.stage, a);
    } : null;
    for (const f of frames) {
      const s = dp.pool.load(f, 0, f.length, f.length, t++, 0);
      dp.pool.frameNo[s] = 1;
      dp.inject(s, -1);
    }
    dp.run();
  };
  for (let i = 0; i < 50; i++) once(false); // warm-up (JIT)
  for (let i = 0; i < rounds; i++) once(true);
  return acc;
}

const ts = run('ts', 300);
const nat = run('native', 300);
console.log('stage            ts ns/pkt  native ns/pkt  speed-up');
for (const s of NATIVE_STAGES) {
  const a = ts.get(s);
  const b = nat.get(s);
  if (!a || !b) continue;
  const x = a.ns / a.packets;
  const y = b.ns / b.packets;
  console.log(`${s.padEnd(16)} ${x.toFixed(1).padStart(9)}  ${y.toFixed(1).padStart(13)}  ${(x / y).toFixed(2).padStart(7)}x`);
}
