/** `dpemu rules --mode ipvs [--node NAME|all]`: ipvsadm -Ln for a node. Wired into the CLI by the lead. */
import type { Io } from '../cli/io.js';
import type { Cluster } from '../scenario/model.js';
import { KubeProxyError } from '../kubeproxy/errors.js';
import { buildNodeIpvsServices, type IpvsBuildOptions } from './build.js';
import { formatIpvsadm } from './format.js';

export interface IpvsRulesOptions extends IpvsBuildOptions {
  node?: string;
}

/** Returns the exit code: 0 printed, 2 unknown node. */
export function ipvsRulesCommand(cluster: Cluster, opts: IpvsRulesOptions, io: Io): number {
  const names = opts.node === 'all' ? cluster.nodes.map((n) => n.name) : [opts.node ?? cluster.nodes[0]?.name ?? ''];
  try {
    for (const name of names) {
      if (opts.node === 'all') io.out(`# node ${name}\n`);
      io.out(formatIpvsadm(buildNodeIpvsServices(cluster, name, opts)));
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
