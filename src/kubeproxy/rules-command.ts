/**
 * `dpemu rules [--scenario file.yaml] [--node NAME|all] [--table filter|nat]`: the iptables-save text
 * kube-proxy would leave on a node. Wired into src/cli/main.ts by the CLI owner.
 */
import type { Io } from '../cli/io.js';
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
