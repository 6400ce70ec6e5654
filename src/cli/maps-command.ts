import { Dataplane } from '../dataplane/dataplane.js';
import { formatCtList, formatIpcacheList, formatLbList, formatPolicyGet, endpointTitle } from '../ebpf/format.js';
import { PolicyEngine } from '../policy/engine.js';
import { replaySettled } from '../replay/replay.js';
import { damagedCapture } from './io.js';
import type { Cluster } from '../scenario/model.js';
import type { Io } from './io.js';
import type { EngineName } from '../native/loader.js';

export interface MapsCommandOptions {
  /** Only this node (default: every node). */
  readonly node?: string;
  /** The engine that replays (default ts); the maps are the same in both (the parity suites compare them). */
  readonly engine?: EngineName;
}

/**
 * `dpemu maps`: replays the capture quietly in eBPF mode, then prints each node's maps as the Cilium agent
 * dumps them: `cilium bpf lb list`, `cilium bpf ct list global`, `cilium bpf policy get` (per local
 * endpoint) and `cilium bpf ipcache list`.
 */
export async function mapsCommand(capture: string, cluster: Cluster, o: MapsCommandOptions, io: Io): Promise<number> {
  if (cluster.kubeProxy.mode !== 'ebpf') {
    io.err(`dpemu maps: the scenario's kubeProxy.mode is ${cluster.kubeProxy.mode}; maps exist in ebpf mode (try --scenario pcaps/scenarios/ebpf.yaml, or dpemu rules / dpemu ct for ${cluster.kubeProxy.mode})\n`);
    return 2;
  }
  if (o.node !== undefined && !cluster.nodes.some((n) => n.name === o.node)) {
    io.err(`dpemu maps: no node ${o.node} (nodes: ${cluster.nodes.map((n) => n.name).join(', ')})\n`);
    return 2;
  }
  const dp = new Dataplane(cluster, { tracing: false, engine: o.engine ?? 'ts' });
  // A capture damaged part way: the maps as the good frames left them, then the error.
  const { error } = await replaySettled({ capture, cluster, onVector: (d) => { d.engine.traces.length = 0; } }, dp);
  // Policy maps are compiled from the cluster alone (no per-packet state), so the dump builds them itself.
  const policy = new PolicyEngine(cluster, { mode: 'ebpf' });
  for (const ctx of dp.contexts) {
    if (o.node !== undefined && ctx.node.name !== o.node) continue;
    const st = ctx.ebpf!;
    const name = ctx.node.name;
    io.out(`# node ${name}: cilium bpf lb list\n${formatLbList(st).join('\n')}\n\n`);
    const ct = formatCtList(st);
    io.out(`# node ${name}: cilium bpf ct list global (${ct.length} entries)\n${ct.map((l) => `${l}\n`).join('')}\n`);
    for (const pod of cluster.pods.filter((p) => p.nodeName === name)) {
      const bp = policy.bpfPolicy(pod);
      const lines = formatPolicyGet(st, bp ? bp.map.entries() : null, { ingress: bp?.ingressEnforced ?? false, egress: bp?.egressEnforced ?? false });
      io.out(`# node ${name}: cilium bpf policy get ${endpointTitle(st, pod)}\n${lines.join('\n')}\n\n`);
    }
    io.out(`# node ${name}: cilium bpf ipcache list\n${formatIpcacheList(st).join('\n')}\n\n`);
  }
  return error === undefined ? 0 : damagedCapture(error, io);
}
