/**
 * Whole-pipeline packets/s and per-stage ns/packet, TypeScript vs native engine, plus a plain C
 * reference (bench/c-reference/ref.c, compiled here with gcc -O3) over the same frames:
 *   (a) established TCP flows from pod-a (node-1) to the `backend` Service VIP, DNATed to a backend on
 *       node-2/node-3 across VXLAN, with a NetworkPolicy on the backends (ingress from app=client, TCP 8080);
 *   (b) the same with every 10th packet the SYN of a new flow.
 * Timed: queueing each capture batch (Dataplane.injectFrames) and running the graph (vectors of 256), batch by batch.
 * The workloads and the C reference are shared with the bench suite (src/bench/issue-workloads.ts; rows issue-a/*,
 * issue-b/* of `npm run bench`).
 * Run: `npx vite-node src/native/pipeline-bench.ts [packets]` (needs the addon: npm run build:native).
 */
import { cReference, ISSUE_FLOWS, issueWorkload, measureWorkload, WORKLOADS, type WorkloadRun } from '../bench/issue-workloads.js';

const PACKETS = Number(process.argv[2] ?? 300_000);
const WARM = 20_000;

for (const w of WORKLOADS) {
  const res = {} as Record<'ts' | 'native', WorkloadRun>;
  for (const engine of ['ts', 'native'] as const) res[engine] = measureWorkload(engine, w.newFlows, PACKETS, WARM);
  const pps = (r: WorkloadRun): number => (r.packets * 1e9) / r.ns;
  const inStages = (r: WorkloadRun): string => `${([...r.stages.values()].reduce((a, s) => a + s.ns, 0) / r.packets).toFixed(0)} ns in stage calls`;
  const cref = w.newFlows ? null : cReference(issueWorkload(w.newFlows, Math.min(PACKETS, 100_000), WARM));
  console.log(`\n${w.name}: ${PACKETS} packets, ${ISSUE_FLOWS} flows`);
  console.log(`  TypeScript  ${(pps(res.ts) / 1e6).toFixed(3)} Mpps  (${(1e9 / pps(res.ts)).toFixed(0)} ns/packet, ${inStages(res.ts)})`);
  console.log(`  native      ${(pps(res.native) / 1e6).toFixed(3)} Mpps  (${(1e9 / pps(res.native)).toFixed(0)} ns/packet, ${inStages(res.native)})  ${(pps(res.native) / pps(res.ts)).toFixed(2)}x TypeScript${res.native.nativeDispatch ? '' : '  (native dispatcher OFF)'}`);
  if (cref && 'error' in cref) console.log(`C reference not run: ${cref.error}`);
  else if (cref) {
    const nat = 1e9 / pps(res.native);
    console.log(`  C reference, node-1's work (parse, conntrack, DNAT, TTL, policy, VXLAN encap) ${(1000 / cref.node1Ns).toFixed(3)} Mpps  (${cref.node1Ns.toFixed(1)} ns/packet)  native/C time ratio ${(nat / cref.node1Ns).toFixed(1)}x`);
    const node1 = (res.native.nodeNs.get('node-1') ?? 0) / res.native.packets;
    console.log(`  native node-1's stage calls ${node1.toFixed(0)} ns/packet (the C reference's node-1 work, without the dispatcher and queueing): ${(node1 / cref.node1Ns).toFixed(1)}x its time`);
    console.log(`  C reference, the whole path (+ outer conntrack on both nodes, decap, inner conntrack, TTL, ingress policy on node-2) ${(1000 / cref.fullNs).toFixed(3)} Mpps  (${cref.fullNs.toFixed(1)} ns/packet)  native/C time ratio ${(nat / cref.fullNs).toFixed(1)}x`);
  }
  console.log('  stage                 node-packets   ts ns/pkt  native ns/pkt  native share');
  for (const [s, a] of res.ts.stages) {
    const n = res.native.stages.get(s);
    if (!n) continue;
    console.log(`  ${s.padEnd(20)} ${String(a.packets).padStart(13)}  ${(a.ns / a.packets).toFixed(1).padStart(9)}  ${(n.ns / n.packets).toFixed(1).padStart(13)}  ${(100 * n.native / Math.max(1, n.packets)).toFixed(0).padStart(10)}%`);
  }
}
