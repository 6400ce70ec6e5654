import type { Cluster, ScenarioResult } from '../../src/scenario/index.js';

export function ok(r: ScenarioResult): Cluster {
  if (!r.ok) throw r.error;
  return r.cluster;
}

/** A minimal valid Cluster document for tests that are about other kinds. */
export const TWO_NODES = `apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: t}
spec:
  nodes:
    - {name: n1, ip: 10.0.0.1, podCIDR: 10.244.1.0/24}
    - {name: n2, ip: 10.0.0.2, podCIDR: 10.244.2.0/24}
`;
