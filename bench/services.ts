// Cost of kube-proxy's service translation per new connection, by number of Services: the
// nf4-prerouting stage (conntrack + the nat PREROUTING walk, KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP)
// on the client's node, measured by the engine's own per-stage counters over SYNs to random VIPs.
// iptables mode walks KUBE-SERVICES rule by rule (linear); IPVS and eBPF modes are added by their benches.
//   npx vite-node bench/services.ts [--sizes 10,100,1000,10000]
import { Dataplane } from '../src/dataplane/dataplane.js';
import { table } from './lib/timing.js';
import { synFrames, syntheticCluster } from './lib/synthetic.js';

const arg = process.argv.indexOf('--sizes');
const sizes = arg > 0 ? process.argv[arg + 1].split(',').map(Number) : [10, 100, 1000, 10000];
const PACKETS = 4000;

function stageNs(services: number): { ns: number; packets: number } {
  const cluster = syntheticCluster(services);
  const dp = new Dataplane(cluster, { poolSize: 8192 });
  const pod = dp.findDevice('default/pod-a')!;
  const frames = synFrames(PACKETS, services);
  const run = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const s = dp.pool.load(frames[i], 0, frames[i].length, frames[i].length, 1000 + i / 1e4, 0);
      dp.pool.frameNo[s] = i + 1;
      dp.inject(s, pod.id);
      if ((i + 1) % 256 === 0 || i === to - 1) dp.run();
    }
  };
  run(0, PACKETS / 4); // warm-up: JIT and caches
  dp.engine.resetCounters();
  run(PACKETS / 4, PACKETS);
  const row = dp.engine.runtimeRows().find((r) => r.node === 'node-1' && r.stage === 'nf4-prerouting')!;
  return { ns: row.ns / row.packets, packets: row.packets };
}

const rows: (string | number)[][] = [];
const results: { services: number; ns: number }[] = [];
for (const n of sizes) {
  const r = stageNs(n);
  results.push({ services: n, ns: r.ns });
  rows.push([n, r.packets, r.ns.toFixed(0)]);
}
console.log('iptables mode: nf4-prerouting (conntrack + nat PREROUTING walk) per new connection, node-1');
console.log(table(['services', 'packets', 'ns/packet'], rows));
const first = results[0];
const last = results[results.length - 1];
console.log(`\nratio ${last.services}/${first.services} services: ${(last.ns / first.ns).toFixed(1)}x (linear in the rule count would be ${(last.services / first.services).toFixed(0)}x)`);
