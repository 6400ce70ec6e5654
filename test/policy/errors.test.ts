import { describe, expect, it } from 'vitest';
import { withExtra } from '../kubeproxy/scenarios.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { compilePolicies, compilePoliciesOrThrow } from '../../src/policy/compile.js';
import { PolicyError } from '../../src/policy/errors.js';
import { buildHttp403, matchHttp } from '../../src/policy/l7.js';
import { InMemoryPolicyMap, portRangePrefixes } from '../../src/policy/policy-map.js';
import type { Cluster } from '../../src/scenario/model.js';

const enc = (s: string) => new TextEncoder().encode(s);

function withRawPolicy(spec: Record<string, unknown>, kind: 'np' | 'cnp' = 'np'): Cluster {
  const c = withExtra('');
  if (kind === 'np') c.networkPolicies.push({ name: 'bad', namespace: 'default', spec: spec as never, policyTypes: ['Ingress'] });
  else c.ciliumNetworkPolicies.push({ name: 'bad', namespace: 'default', specs: [spec as never] });
  return c;
}

describe('bad input is a diagnostic naming object, field and expectation', () => {
  it('bad CIDR', () => {
    const d = compilePolicies(withRawPolicy({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1/8' } }] }] })).diagnostics;
    expect(d).toEqual([expect.objectContaining({ severity: 'error', code: 'POLICY_BAD_CIDR', object: 'NetworkPolicy default/bad', field: 'spec.ingress[0].from[0].ipBlock.cidr' })]);
    expect(d[0].message).toMatch(/expected an IPv4 CIDR.*got "10.0.0.1\/8"/);
  });
  it('unknown selector operator', () => {
    const d = compilePolicies(withRawPolicy({ podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] } })).diagnostics;
    expect(d[0]).toMatchObject({ code: 'POLICY_BAD_SELECTOR', field: 'spec.podSelector.matchExpressions[0].operator' });
    expect(d[0].message).toContain('expected one of In, NotIn, Exists, DoesNotExist');
  });
  it('toPorts protocol ICMPV6 (Cilium\'s spelling) is IPv6, which dpemu does not model: an error that says so', () => {
    const d = compilePolicies(withRawPolicy({ endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '0', protocol: 'ICMPV6' }] }] }] }, 'cnp')).diagnostics;
    expect(d[0]).toMatchObject({ severity: 'error', code: 'POLICY_BAD_PORT', field: 'spec.ingress[0].toPorts[0].ports[0].protocol' });
    expect(d[0].message).toBe('ICMPV6 is IPv6 traffic, which dpemu does not model (its data path is IPv4); use ICMP for ICMPv4');
  });
  it('unknown entity', () => {
    const d = compilePolicies(withRawPolicy({ endpointSelector: {}, ingress: [{ fromEntities: ['internet'] }] }, 'cnp')).diagnostics;
    expect(d[0]).toMatchObject({ code: 'POLICY_BAD_ENTITY', object: 'CiliumNetworkPolicy default/bad', field: 'spec.ingress[0].fromEntities[0]' });
    expect(d[0].message).toContain('expected one of all, world');
  });
  it('named port no pod defines is a warning and matches nothing', () => {
    const c = withRawPolicy({ podSelector: { matchLabels: { app: 'backend' } }, ingress: [{ ports: [{ port: 'metrics' }] }] });
    const e = new PolicyEngine(c, { mode: 'ebpf' });
    expect(e.diagnostics).toEqual([expect.objectContaining({ severity: 'warning', code: 'POLICY_NAMED_PORT_UNDEFINED', field: 'spec.ingress[0].ports[0].port' })]);
    const be = c.pods.find((p) => p.name === 'backend-a')!;
    expect(e.decide(be, 'ingress', c.pods[0].ip32, 'tcp', 8080).verdict).toBe('DENY');
  });
  it('a policy with errors is left out whole; compilePoliciesOrThrow throws a PolicyError', () => {
    const c = withRawPolicy({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 'nope' } }] }] });
    const be = c.pods.find((p) => p.name === 'backend-a')!;
    expect(new PolicyEngine(c, { mode: 'iptables' }).decide(be, 'ingress', 0x08080808, 'tcp', 1).verdict).toBe('ALLOW');
    expect(() => compilePoliciesOrThrow(c)).toThrow(PolicyError);
  });
});

describe('policy map overflow', () => {
  const big = (n: number) =>
    `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: many, namespace: default }\nspec:\n  podSelector: { matchLabels: { app: backend } }\n  ingress: [{ ports: [${Array.from({ length: n }, (_, i) => `{ port: ${1000 + i * 2} }`).join(', ')}] }]\n`;
  it('refuses the new policy for the endpoint, keeps the previous one, and says why', () => {
    const c1 = withExtra(big(3));
    const e = new PolicyEngine(c1, { mode: 'ebpf', maxEntries: 10 });
    const be = (c: Cluster) => c.pods.find((p) => p.name === 'backend-a')!;
    expect(e.diagnostics).toEqual([]);
    expect(e.decide(be(c1), 'ingress', 0x08080808, 'tcp', 1002).verdict).toBe('ALLOW');
    const c2 = withExtra(big(11));
    const d = e.apply(c2);
    expect(d.filter((x) => x.code === 'POLICY_MAP_OVERFLOW').map((x) => x.object).sort()).toEqual(['Pod default/backend-a', 'Pod default/backend-b']);
    expect(d[0].message).toMatch(/needs 11 policy map entries, more than the map's 10.*previous policy stays in force/);
    expect(e.decide(be(c2), 'ingress', 0x08080808, 'tcp', 1002).verdict).toBe('ALLOW');
    expect(e.decide(be(c2), 'ingress', 0x08080808, 'tcp', 1010).verdict).toBe('DENY'); // the new port is not in force
    expect(e.bpfPolicy(be(c2))!.map.size).toBe(3);
  });
  it('the map itself never truncates silently', () => {
    const m = new InMemoryPolicyMap(1);
    expect(m.update({ identity: 1, egress: 0, proto: 6, dport: 80, prefixLen: 24 }, { deny: false, proxyPort: 0, proxyPortPriority: 0, prefixLen: 24 })).toBe(true);
    expect(m.update({ identity: 2, egress: 0, proto: 6, dport: 80, prefixLen: 24 }, { deny: false, proxyPort: 0, proxyPortPriority: 0, prefixLen: 24 })).toBe(false);
    expect(m.size).toBe(1);
  });
  it('port ranges become masked prefixes', () => {
    expect(portRangePrefixes(8000, 8100).reduce((n, [, l]) => n + 2 ** (16 - l), 0)).toBe(101);
    expect(portRangePrefixes(0, 65535)).toEqual([[0, 0]]);
  });
});

describe('modes and L7', () => {
  const c = withExtra(`---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: l7, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: backend } }
  ingress:
    - fromEndpoints: [{ matchLabels: { app: client } }]
      toPorts: [{ ports: [{ port: "8080", protocol: TCP }], rules: { http: [{ method: GET, path: "/ok.*" }] } }]
`);
  const client = c.pods.find((p) => p.name === 'pod-a')!;
  const be = c.pods.find((p) => p.name === 'backend-a')!;
  const flow = { src32: client.ip32, dst32: be.ip32, proto: 'tcp' as const, sport: 40000, dport: 8080 };
  for (const mode of ['ebpf', 'iptables'] as const) {
    it(`${mode}: allowed request is redirected, denied one gets Envoy's 403, replies are established`, () => {
      const e = new PolicyEngine(c, { mode });
      expect(e.packet(flow, enc('GET /ok/1 HTTP/1.1\r\nHost: x\r\n\r\n')).verdict).toBe('REDIRECT');
      const reply = e.packet({ src32: be.ip32, dst32: client.ip32, proto: 'tcp', sport: 8080, dport: 40000 });
      expect(reply).toMatchObject({ verdict: 'REDIRECT', established: true });
      const denied = e.packet({ ...flow, sport: 40001 }, enc('DELETE /ok HTTP/1.1\r\n\r\n'), Date.UTC(2024, 0, 2, 3, 4, 5));
      expect(denied.verdict).toBe('DENY');
      expect(new TextDecoder().decode(denied.http403!)).toBe(
        'HTTP/1.1 403 Forbidden\r\ncontent-length: 15\r\ncontent-type: text/plain\r\ndate: Tue, 02 Jan 2024 03:04:05 GMT\r\nserver: envoy\r\n\r\nAccess denied\r\n',
      );
    });
    it(`${mode}: audit mode passes what would drop; never mode enforces nothing; always mode denies without policy`, () => {
      expect(new PolicyEngine(c, { mode, audit: true }).decide(be, 'ingress', 0x08080808, 'tcp', 8080)).toMatchObject({ verdict: 'AUDIT', dropReason: 'POLICY_DENIED' });
      expect(new PolicyEngine(c, { mode, enforcement: 'never' }).decide(be, 'ingress', 0x08080808, 'tcp', 8080).verdict).toBe('ALLOW');
      expect(new PolicyEngine(c, { mode, enforcement: 'always' }).decide(client, 'egress', 0x08080808, 'udp', 53)).toMatchObject({ verdict: 'DENY', dropReason: 'POLICY_DENIED' });
      expect(new PolicyEngine(c, { mode }).decide(client, 'egress', 0x08080808, 'udp', 53).verdict).toBe('ALLOW');
    });
  }
  it('matchHttp checks method, path and headers as full matches', () => {
    const rules = [{ method: /^(?:GET)$/, path: /^(?:\/a)$/, headers: [{ name: 'x-t', value: '1' }], text: '' }];
    expect(matchHttp(rules, enc('GET /a HTTP/1.1\r\nX-T: 1\r\n\r\n'))).toBe('allow');
    expect(matchHttp(rules, enc('GET /ab HTTP/1.1\r\nX-T: 1\r\n\r\n'))).toBe('deny');
    expect(matchHttp(rules, enc('GET /a HTTP/1.1\r\n\r\n'))).toBe('deny');
    expect(buildHttp403(0).length).toBeGreaterThan(0);
  });
  it('dpemu rules form: iptables-save text of the policy chains', () => {
    const text = new PolicyEngine(c, { mode: 'iptables' }).renderRules('node-2');
    expect(text).toContain(':cali-tw-');
    expect(text).toMatch(/-A cali-pi-\S+ -s 10\.244\.1\.5\/32 -p tcp -m tcp --dport 8080 .*-j MARK --set-xmark 0x40000\/0x40000/);
    expect(text).toContain('-m comment --comment "Drop if no policies passed packet" -j DROP');
  });
});
