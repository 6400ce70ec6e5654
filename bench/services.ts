// Cost of kube-proxy's service translation per new connection, by number of Services, on the
// client's node, measured by the engine's own per-stage counters over SYNs to random VIPs:
// ipvs4-in + nf4-prerouting (conntrack, then the nat PREROUTING walk KUBE-SERVICES -> KUBE-SVC ->
// KUBE-SEP in iptables mode, or the IPVS virtual-server lookup and scheduler in IPVS mode).
// iptables mode walks KUBE-SERVICES rule by rule (linear); IPVS looks the VIP up in a hash (flat).
//   npx vite-node bench/services.ts [--sizes 10,100,1000,10000]
import { Dataplane } from '../src/dataplane/dataplane.js';
import { table } from './lib/timing.js';
import { synFrames, syntheticCluster } from './lib/synthetic.js';

const arg = process.argv.indexOf('--sizes');
const sizes = arg > 0 ? process.argv[arg + 1].split(',').map(Number) : [10, 100, 1000, 10000];
const PACKETS = 4000;

function stageNs(services: number, mode: 'iptables' | 'ipvs'): { ns: number; packets: number } {
  const cluster = syntheticCluster(services, mode);
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
  const rows = dp.engine.runtimeRows().filter((r) => r.node === 'node-1' && (r.stage === 'nf4-prerouting' || r.stage === 'ipvs4-in'));
  const pre = rows.find((r) => r.stage === 'nf4-prerouting')!;
  return { ns: rows.reduce((a, r) => a + r.ns / r.packets, 0), packets: pre.packets };
}

const rows: (string | number)[][] = [];
const results: { services: number; ipt: number; ipvs: number }[] = [];
for (const n of sizes) {
  const ipt = stageNs(n, 'iptables');
  const ipvs = stageNs(n, 'ipvs');
  results.push({ services: n, ipt: ipt.ns, ipvs: ipvs.ns });
  rows.push([n, ipt.packets, ipt.ns.toFixed(0), ipvs.ns.toFixed(0), (ipt.ns / ipvs.ns).toFixed(1)]);
}
console.log('service translation per new connection on node-1 (ipvs4-in + nf4-prerouting), ns/packet');
console.log(table(['services', 'packets', 'iptables', 'ipvs', 'iptables/ipvs'], rows));
const first = results[0];
const last = results[results.length - 1];
console.log(`\nratio ${last.services}/${first.services} services: iptables ${(last.ipt / first.ipt).toFixed(1)}x, ipvs ${(last.ipvs / first.ipvs).toFixed(1)}x (linear in the rule count would be ${(last.services / first.services).toFixed(0)}x)`);
