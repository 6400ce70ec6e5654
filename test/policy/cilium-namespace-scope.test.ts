/**
 * Which namespaces a namespaced CiliumNetworkPolicy's fromEndpoints/toEndpoints select. Cilium's
 * getEndpointSelector (pkg/k8s/apis/cilium.io/utils) adds the policy's namespace unless the selector names the
 * namespace (io.kubernetes.pod.namespace) or a namespace label (io.cilium.k8s.namespace.labels.<key>): a selector
 * on namespace labels selects pods of every namespace carrying that label, as a NetworkPolicy namespaceSelector.
 */
import { describe, expect, it } from 'vitest';
import { withExtra } from '../kubeproxy/scenarios.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import type { PolicyMode } from '../../src/policy/engine.js';

const cluster = withExtra(`---
apiVersion: v1
kind: Namespace
metadata: { name: tools, labels: { team: ops } }
---
apiVersion: v1
kind: Namespace
metadata: { name: other }
---
apiVersion: v1
kind: Pod
metadata: { name: ops-0, namespace: tools, labels: { app: ops } }
spec: { nodeName: node-1, containers: [{ name: c, image: c }] }
status: { podIP: 10.244.1.60 }
---
apiVersion: v1
kind: Pod
metadata: { name: stray-0, namespace: other, labels: { app: ops } }
spec: { nodeName: node-1, containers: [{ name: c, image: c }] }
status: { podIP: 10.244.1.61 }
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: from-ops-team, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: backend } }
  ingress:
    - fromEndpoints: [{ matchLabels: { "k8s:io.cilium.k8s.namespace.labels.team": ops } }]
      toPorts: [{ ports: [{ port: "8080", protocol: TCP }] }]
  egress:
    - toEndpoints: [{ matchExpressions: [{ key: io.cilium.k8s.namespace.labels.team, operator: Exists }] }]
    - toEndpoints: [{ matchLabels: { app: ops } }]
      toPorts: [{ ports: [{ port: "9000", protocol: TCP }] }]
`);
const pod = (name: string) => cluster.pods.find((p) => p.name === name)!;

describe('CiliumNetworkPolicy endpoint selectors on namespace labels are not limited to the policy namespace', () => {
  for (const mode of ['ebpf', 'iptables'] as PolicyMode[]) {
    it(`${mode}`, () => {
      const e = new PolicyEngine(cluster, { mode });
      expect(e.diagnostics).toEqual([]);
      const be = pod('backend-a');
      // tools carries team=ops: selected although the policy lives in default.
      expect(e.decide(be, 'ingress', pod('ops-0').ip32, 'tcp', 8080).verdict).toBe('ALLOW');
      expect(e.decide(be, 'egress', pod('ops-0').ip32, 'tcp', 5432).verdict).toBe('ALLOW');
      // other has no team label: not selected.
      expect(e.decide(be, 'ingress', pod('stray-0').ip32, 'tcp', 8080).verdict).toBe('DENY');
      // A plain pod-label selector still gets the policy's namespace: app=ops pods elsewhere are not peers.
      expect(e.decide(be, 'egress', pod('stray-0').ip32, 'tcp', 9000).verdict).toBe('DENY');
      expect(e.decide(be, 'egress', pod('ops-0').ip32, 'tcp', 9000).verdict).toBe('ALLOW');
    });
  }
});
