/**
 * A CiliumNetworkPolicy endpoint selector on a `reserved:` label selects that reserved identity: Cilium's entities
 * are such selectors (pkg/policy/api/entity.go EntitySelectorMapping), and getEndpointSelector adds no namespace to
 * them. `fromEndpoints: [{matchLabels: {"reserved:host": ""}}]` allows the node the pod runs on, as fromEntities: [host].
 */
import { describe, expect, it } from 'vitest';
import { withExtra } from '../kubeproxy/scenarios.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import type { PolicyMode } from '../../src/policy/engine.js';

const cluster = withExtra(`---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: from-host, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: backend } }
  ingress:
    - fromEndpoints: [{ matchLabels: { "reserved:host": "" } }]
  egress:
    - toEndpoints: [{ matchLabels: { "reserved:world": "" } }]
      toPorts: [{ ports: [{ port: "443", protocol: TCP }] }]
`);

describe('CiliumNetworkPolicy reserved: selectors select reserved identities', () => {
  for (const mode of ['ebpf', 'iptables'] as PolicyMode[]) {
    it(mode, () => {
      const e = new PolicyEngine(cluster, { mode });
      expect(e.diagnostics).toEqual([]);
      const be = cluster.pods.find((p) => p.name === 'backend-a')!;
      const own = cluster.nodes.find((n) => n.name === be.nodeName)!;
      const other = cluster.nodes.find((n) => n.name !== be.nodeName)!;
      expect(e.decide(be, 'ingress', own.ip32, 'tcp', 8080).verdict).toBe('ALLOW');
      expect(e.decide(be, 'ingress', other.ip32, 'tcp', 8080).verdict).toBe('DENY');
      expect(e.decide(be, 'ingress', cluster.pods.find((p) => p.name === 'pod-a')!.ip32, 'tcp', 8080).verdict).toBe('DENY');
      expect(e.decide(be, 'egress', 0x08080808, 'tcp', 443).verdict).toBe('ALLOW');
      expect(e.decide(be, 'egress', 0x08080808, 'tcp', 80).verdict).toBe('DENY');
      expect(e.decide(be, 'egress', own.ip32, 'tcp', 443).verdict).toBe('DENY');
    });
  }
});
