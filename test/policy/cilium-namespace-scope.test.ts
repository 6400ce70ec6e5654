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

/**
 * The subject side: a namespaced policy's endpointSelector always applies in its own namespace. Cilium's
 * ParseToCiliumRule sets matchLabels `k8s:io.kubernetes.pod.namespace` to the policy's namespace, replacing what
 * was written there; any other spelling naming another namespace stays beside it and selects nothing.
 */
describe('a namespaced CiliumNetworkPolicy endpointSelector naming another namespace', () => {
  const policy = (sel: string) => withExtra(`---
apiVersion: v1
kind: Namespace
metadata: { name: tools }
---
apiVersion: v1
kind: Pod
metadata: { name: ops-0, namespace: tools, labels: { app: backend } }
spec: { nodeName: node-1, containers: [{ name: c, image: c }] }
status: { podIP: 10.244.1.60 }
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: lockdown, namespace: default }
spec:
  endpointSelector: ${sel}
  ingress: [{}]
`);
  const ingress = (c: ReturnType<typeof withExtra>, e: PolicyEngine, name: string) =>
    e.decide(c.pods.find((p) => p.name === name)!, 'ingress', c.pods.find((p) => p.name === 'pod-a')!.ip32, 'tcp', 8080).verdict;

  for (const mode of ['ebpf', 'iptables'] as PolicyMode[]) {
    it(`${mode}: k8s:io.kubernetes.pod.namespace is replaced by the policy's namespace, with a warning`, () => {
      const c = policy('{ matchLabels: { app: backend, "k8s:io.kubernetes.pod.namespace": tools } }');
      const e = new PolicyEngine(c, { mode });
      expect(ingress(c, e, 'backend-a')).toBe('DENY');
      expect(ingress(c, e, 'ops-0')).toBe('ALLOW');
      expect(e.diagnostics.map((d) => [d.severity, d.code, d.field])).toEqual([['warning', 'POLICY_NAMESPACE', 'spec.endpointSelector.matchLabels.k8s:io.kubernetes.pod.namespace']]);
      expect(e.diagnostics[0].message).toContain('Cilium replaces it with "default"');
    });

    it(`${mode}: the plain key or an In expression naming another namespace selects no pods, with a warning`, () => {
      for (const sel of ['{ matchLabels: { app: backend, io.kubernetes.pod.namespace: tools } }', '{ matchExpressions: [{ key: "k8s:io.kubernetes.pod.namespace", operator: In, values: [tools] }] }']) {
        const c = policy(sel);
        const e = new PolicyEngine(c, { mode });
        expect(ingress(c, e, 'backend-a'), sel).toBe('ALLOW');
        expect(ingress(c, e, 'ops-0'), sel).toBe('ALLOW');
        expect(e.diagnostics.map((d) => d.code), sel).toEqual(['POLICY_NAMESPACE']);
        expect(e.diagnostics[0].message, sel).toContain('selects no pods');
      }
    });

    it(`${mode}: naming the policy's own namespace is no problem`, () => {
      const c = policy('{ matchLabels: { app: backend, "k8s:io.kubernetes.pod.namespace": default } }');
      const e = new PolicyEngine(c, { mode });
      expect(e.diagnostics).toEqual([]);
      expect(ingress(c, e, 'backend-a')).toBe('DENY');
      expect(ingress(c, e, 'ops-0')).toBe('ALLOW');
    });
  }
});
