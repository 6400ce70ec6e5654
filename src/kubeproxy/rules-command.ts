/**
 * `dpemu rules [--scenario file.yaml] [--node NAME|all] [--table filter|nat]`: the iptables-save text
 * kube-proxy would leave on a node. Wired into src/cli/main.ts by the CLI owner.
 */
import type { Io } from '../cli/io.js';
import { PolicyEngine } from '../policy/engine.js';
import type { Cluster } from '../scenario/model.js';
import { KubeProxyError } from './errors.js';
import { renderNodeRules } from './node-rules.js';
import { renderIptablesSave } from './render-save.js';

export interface RulesCommandOptions {
  /** A node name, or 'all' for every node (each preceded by a `# node NAME` line). Default: the first node. */
  node?: string;
  table?: 'filter' | 'nat';
}

/** Returns the exit code: 0 printed, 2 unknown node, table or kube-proxy mode. */
export function rulesCommand(cluster: Cluster, opts: RulesCommandOptions, io: Io): number {
  if (cluster.kubeProxy.mode !== 'iptables') {
    io.err(`dpemu rules: the scenario runs kube-proxy in ${cluster.kubeProxy.mode} mode; only iptables mode has iptables rules (set spec.kubeProxy.mode: iptables)\n`);
    return 2;
  }
  if (opts.table !== undefined && opts.table !== 'filter' && opts.table !== 'nat') {
    io.err(`dpemu rules: --table must be filter or nat, got ${String(opts.table)}\n`);
    return 2;
  }
  const names = opts.node === 'all' ? cluster.nodes.map((n) => n.name) : [opts.node ?? cluster.nodes[0]?.name ?? ''];
  try {
    for (const name of names) {
      if (opts.node === 'all') io.out(`# node ${name}\n`);
      io.out(renderIptablesSave(renderNodeRules(cluster, name), opts.table ? { tables: [opts.table] } : {}));
    }
  } catch (e) {
    if (e instanceof KubeProxyError) {
      io.err(`dpemu rules: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return 0;
}

/**
 * `dpemu rules --policy [--node NAME|all]`: the filter chains dpemu's policy4 stages walk for the pods of a
 * node in the iptables policy model (Calico-style cali-tw-<veth> / cali-fw-<veth>, docs/policy.md), so the
 * rule behind a POLICY_DENIED in a trace can be read. In eBPF mode policy lives in maps: `dpemu maps`.
 */
export function policyRulesCommand(cluster: Cluster, opts: Pick<RulesCommandOptions, 'node'>, io: Io): number {
  if (cluster.kubeProxy.mode === 'ebpf') {
    io.err('dpemu rules --policy: in ebpf mode policy is enforced from per-endpoint maps, not chains: dpemu maps prints them (cilium bpf policy get)\n');
    return 2;
  }
  const names = opts.node === 'all' ? cluster.nodes.map((n) => n.name) : [opts.node ?? cluster.nodes[0]?.name ?? ''];
  const unknown = names.find((n) => !cluster.nodes.some((x) => x.name === n));
  if (unknown !== undefined) {
    io.err(`dpemu rules: no node ${unknown} (nodes: ${cluster.nodes.map((n) => n.name).join(', ')})\n`);
    return 2;
  }
  const policies = cluster.networkPolicies.length + cluster.ciliumNetworkPolicies.length;
  if (policies === 0 && cluster.policy.enforcement !== 'always') {
    io.out('# no NetworkPolicy or CiliumNetworkPolicy in the scenario: no pod is isolated, no policy chains\n');
    return 0;
  }
  const engine = new PolicyEngine(cluster, { mode: 'iptables', enforcement: cluster.policy.enforcement, audit: cluster.policy.audit });
  for (const name of names) {
    // Which pod each chain guards: the chains are named after the pod's host veth.
    for (const pod of cluster.pods.filter((p) => p.nodeName === name)) {
      io.out(`# cali-tw-${pod.hostVeth} (to the pod: ingress), cali-fw-${pod.hostVeth} (from it: egress): ${pod.namespace}/${pod.name}\n`);
    }
    io.out(engine.renderRules(name));
  }
  return 0;
}
