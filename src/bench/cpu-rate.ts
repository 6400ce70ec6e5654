/**
 * CPU cost at a fixed rate: the whole pipeline (established flows, iptables or eBPF kube-proxy model) paced at `ratePps`,
 * in 1 ms ticks; between ticks the process sleeps (Atomics.wait), so CPU time is the emulator's work only.
 * Reported as CPU seconds per 100,000 packets and as the share of one core, beside the course's 80% / 15%.
 */
import { Dataplane } from '../dataplane/dataplane.js';
import { flowFrames, syntheticCluster } from './synthetic.js';
import type { CpuAtRate } from './types.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function cpuAtRate(model: 'iptables' | 'ebpf', services: number, ratePps: number, seconds: number): CpuAtRate {
  const dp = new Dataplane(syntheticCluster(services, model, true), { poolSize: 8192 });
  const pod = dp.findDevice('default/pod-a');
  if (!pod) throw new Error('synthetic cluster has no default/pod-a');
  const flows = 1024;
  const frames = flowFrames(flows, 64, services);
  const pool = dp.pool;
  let k = 0;
  const push = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const f = frames[k % frames.length];
      const s = pool.load(f, 0, f.length, f.length, 1000 + k / ratePps, 0);
      pool.frameNo[s] = k + 1;
      dp.inject(s, pod.id);
      k++;
      if ((i & 255) === 255) dp.run();
    }
    dp.run();
  };
  push(flows * 4); // warm-up: create the flows' entries, JIT
  k = 0;
  const target = Math.round(ratePps * seconds);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  for (;;) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= seconds) break;
    const due = Math.min(target, Math.floor(elapsed * ratePps)) - sent;
    if (due > 0) {
      push(due);
      sent += due;
    } else {
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  return { model, ratePps, packets: sent, wallSeconds: wall, cpuSeconds: cpu, cpuSecondsPer100k: (cpu * 100_000) / Math.max(1, sent), cpuPercent: (100 * cpu) / wall, achieved: sent / target };
}
