/**
 * One mistake, one line: the pods a workload makes share its template's location, and a pod CIDR too small for
 * the replicas was reported once per pod (hundreds of identical lines for `replicas: 600`).
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioText } from '../../src/scenario/index.js';

const SMALL = `apiVersion: dpemu.dev/v1
kind: Cluster
spec:
  nodes:
    - {name: n1, ip: 10.0.0.1, podCIDR: 10.244.1.0/28}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 40
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: w}]}
`;

describe('identical problems', () => {
  it('are merged into one that says how many times it occurred', () => {
    const r = loadScenarioText(SMALL, 'small.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    // A /28 holds 13 pods (network + 1 is the gateway's, the broadcast is never used): 27 have no address.
    expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      "spec.template.status.podIP: missing, and n1's pod CIDR 10.244.1.0/28 has no free address left; expected an explicit podIP or a larger CIDR (27 times)",
    ]);
    expect(r.error.message.split('\n')).toHaveLength(2);
  });
});
