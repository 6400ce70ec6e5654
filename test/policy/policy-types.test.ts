/**
 * NetworkPolicy policyTypes as the apiserver defaults them (SetDefaults_NetworkPolicySpec): when the list is
 * empty or missing, Ingress, plus Egress only when `egress` has at least one rule. `egress: []` is no egress rule,
 * so it does not make the pod default-deny for egress; `policyTypes: []` is defaulted, not "no direction".
 */
import { describe, expect, it } from 'vitest';
import { withExtra } from '../kubeproxy/scenarios.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import type { PolicyMode } from '../../src/policy/engine.js';

const np = (name: string, spec: string) => `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: default }
spec:
${spec}`;

const cluster = withExtra(
  np('empty-egress', '  podSelector: { matchLabels: { app: client } }\n  ingress: [{}]\n  egress: []\n') +
    np('empty-types', '  podSelector: { matchLabels: { app: backend } }\n  policyTypes: []\n'),
);
const pod = (name: string) => cluster.pods.find((p) => p.name === name)!;

describe('NetworkPolicy policyTypes defaulting', () => {
  it('the loader defaults as the apiserver does', () => {
    const types = Object.fromEntries(cluster.networkPolicies.map((p) => [p.name, p.policyTypes]));
    expect(types).toEqual({ 'empty-egress': ['Ingress'], 'empty-types': ['Ingress'] });
  });
  for (const mode of ['ebpf', 'iptables'] as PolicyMode[]) {
    it(`${mode}: egress: [] leaves egress open; policyTypes: [] is default-deny ingress`, () => {
      const e = new PolicyEngine(cluster, { mode });
      expect(e.decide(pod('pod-a'), 'egress', 0x08080808, 'tcp', 443).verdict).toBe('ALLOW');
      expect(e.decide(pod('pod-a'), 'ingress', pod('backend-a').ip32, 'tcp', 80).verdict).toBe('ALLOW');
      expect(e.decide(pod('backend-a'), 'ingress', pod('pod-a').ip32, 'tcp', 8080)).toMatchObject({ verdict: 'DENY', dropReason: 'POLICY_DENIED' });
      expect(e.decide(pod('backend-a'), 'egress', 0x08080808, 'tcp', 443).verdict).toBe('ALLOW');
    });
  }
});
