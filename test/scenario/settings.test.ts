import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadScenario, loadScenarioText } from '../../src/scenario/index.js';
import { TWO_NODES, ok } from './helpers.js';

describe('Cluster settings', () => {
  it('applies written settings and keeps kernel conntrack timeouts when kube-proxy does not manage the nodes', () => {
    const text = `apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: custom}
spec:
  seed: 42
  serviceCIDR: 10.100.0.0/16
  nodes:
    - {name: a, ip: 192.168.1.10, podCIDR: 10.1.0.0/24, mtu: 9000, mac: "AA:BB:CC:00:00:01"}
    - {name: b, ip: 192.168.1.11, podCIDR: 10.1.1.0/24, mtu: 9000}
  tunnel: {mode: native, vni: 4096, port: 4789, udpCsum: false, deviceName: vxlan0}
  kubeProxy: {mode: ipvs, manages: false, lbAlgorithm: maglev, maglevTableSize: 65521}
  conntrack:
    max: 1024
    timeouts: {udp: 5, tcpCloseWait: 7}
`;
    const c = ok(loadScenarioText(text));
    expect(c.name).toBe('custom');
    expect(c.seed).toBe(42);
    expect(c.tunnel).toEqual({ mode: 'native', vni: 4096, port: 4789, udpCsum: false, deviceName: 'vxlan0', mtu: 8950 });
    expect(c.kubeProxy).toEqual({ mode: 'ipvs', manages: false, lbAlgorithm: 'maglev', maglevTableSize: 65521 });
    expect(c.conntrack.max).toBe(1024);
    expect(c.conntrack.timeouts.tcpEstablished).toBe(432000);
    expect(c.conntrack.timeouts.tcpCloseWait).toBe(7);
    expect(c.conntrack.timeouts.udp).toBe(5);
    expect(c.nodes[0].mac).toBe('aa:bb:cc:00:00:01');
    expect(c.nodes[1].mac).toBe('02:00:c0:a8:01:0b');
    expect(c.serviceCidr).toMatchObject({ addr: '10.100.0.0', prefix: 16 });
  });

  it('names the scenario `cluster` when the Cluster has no metadata, or metadata without a name (docs/scenario.md)', () => {
    const body = 'apiVersion: dpemu.dev/v1\nkind: Cluster\n{META}spec:\n  nodes:\n    - {name: a, ip: 192.168.1.10, podCIDR: 10.1.0.0/24}\n';
    expect(ok(loadScenarioText(body.replace('{META}', ''))).name).toBe('cluster');
    expect(ok(loadScenarioText(body.replace('{META}', 'metadata: {}\n'))).name).toBe('cluster');
    expect(ok(loadScenarioText(body.replace('{META}', 'metadata: {name: lab}\n'))).name).toBe('lab');
  });

  it('lets a written timeout win over kube-proxy\'s override', () => {
    const c = ok(loadScenarioText(TWO_NODES.replace('spec:\n', 'spec:\n  conntrack: {timeouts: {tcpEstablished: 100}}\n')));
    expect(c.conntrack.timeouts.tcpEstablished).toBe(100);
    expect(c.conntrack.timeouts.tcpCloseWait).toBe(3600);
  });

  it('requires nodes, and at most one Cluster', () => {
    const r = loadScenario([
      { name: 'a.yaml', text: 'apiVersion: dpemu.dev/v1\nkind: Cluster\nmetadata: {name: x}\nspec: {}\n' },
      { name: 'b.yaml', text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\napiVersion: dpemu.dev/v1\nkind: Cluster\nmetadata: {name: y}\nspec: {}\n' },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.file}:${p.doc}:${p.line} ${p.path}: ${p.message}`)).toEqual([
      'a.yaml:1:4 spec.nodes: expected at least one node (a Cluster with spec.nodes, or Node objects)',
      'b.yaml:2:6 kind: expected one Cluster object per scenario; the first is at a.yaml:doc 1',
    ]);
  });

  it('numbers documents per file, and rejects documents that are not objects or have a wrong apiVersion', () => {
    const r = loadScenario([
      { name: 'one.yaml', text: TWO_NODES },
      { name: 'two.yaml', text: '---\n- just\n- a list\n---\napiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: e}\n---\nkind: Pod\n' },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.file}:${p.doc}:${p.line} ${p.path}: ${p.message}`)).toEqual([
      'two.yaml:1:2 : expected a mapping with apiVersion and kind, got a list',
      'two.yaml:2:5 apiVersion: expected apiVersion discovery.k8s.io/v1 for kind EndpointSlice, got "discovery.k8s.io/v1beta1"',
      'two.yaml:3:9 apiVersion: missing; expected an apiVersion like v1 or dpemu.dev/v1',
    ]);
  });

  it('accepts YAML anchors and aliases inside a document, and reports one across documents', () => {
    const text = `${TWO_NODES}---
apiVersion: v1
kind: Service
metadata: {name: s, labels: &l {app: web}}
spec:
  selector: *l
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: b, labels: *l}
`;
    const r = loadScenarioText(text, 'alias.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ file: 'alias.yaml', doc: 3, path: '' });
    expect(r.problems[0].message).toMatch(/^expected valid YAML: .*alias/i);
    const c = ok(loadScenarioText(text.slice(0, text.lastIndexOf('---'))));
    expect(c.services[0].selector).toEqual({ app: 'web' });
  });
});

describe('bad input is data', () => {
  it('never throws, whatever the documents contain', () => {
    const doc = fc.oneof(
      fc.anything(),
      fc.record({
        apiVersion: fc.constantFrom('v1', 'dpemu.dev/v1', 'apps/v1', 'cilium.io/v2', 'networking.k8s.io/v1'),
        kind: fc.constantFrom('Pod', 'Service', 'Cluster', 'Node', 'NetworkPolicy', 'CiliumNetworkPolicy', 'EndpointSlice', 'Thing'),
        metadata: fc.anything(),
        spec: fc.anything(),
        status: fc.anything(),
      }),
    );
    fc.assert(
      fc.property(fc.array(doc, { maxLength: 4 }), fc.string({ maxLength: 40 }), (docs, junk) => {
        const text = docs.map((d) => stringify(d)).join('---\n') + junk;
        const r = loadScenarioText(text, 'fuzz.yaml');
        if (!r.ok) {
          expect(r.problems.length).toBeGreaterThan(0);
          for (const p of r.problems) expect(p.message).toMatch(/^(expected|missing|unknown field)/);
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('Maglev table size', () => {
  it('is one of Cilium\'s primes; another number is a scenario error naming the field', () => {
    const r = loadScenarioText(`apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: m}
spec:
  kubeProxy: {mode: ebpf, lbAlgorithm: maglev, maglevTableSize: 1000}
  nodes:
  - {name: node-1, ip: 10.0.1.5, podCIDR: 10.244.1.0/24}
`, 'maglev.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toEqual(['spec.kubeProxy.maglevTableSize']);
    expect(r.problems[0].message).toMatch(/16381/);
  });
});

describe('spec.capture', () => {
  it('is resolved against the scenario file\'s directory, and absent means null', () => {
    const withCapture = loadScenario([{ name: '/labs/week1/cluster.yaml', text: `apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: c}
spec:
  capture: ../captures/walk.pcapng
  nodes:
  - {name: node-1, ip: 10.0.1.5, podCIDR: 10.244.1.0/24}
` }]);
    expect(withCapture.ok && withCapture.cluster.capture).toBe('/labs/captures/walk.pcapng');
    const without = loadScenarioText(`apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: c}
spec:
  nodes:
  - {name: node-1, ip: 10.0.1.5, podCIDR: 10.244.1.0/24}
`);
    expect(without.ok && without.cluster.capture).toBe(null);
  });

  it('a document nested thousands of levels deep is one problem that says so, not the engine\'s stack overflow', () => {
    const deep = `apiVersion: v1\nkind: Pod\nmetadata: {name: deep}\nspec: ${'['.repeat(20000)}${']'.repeat(20000)}\n`;
    const r = loadScenarioText(`${TWO_NODES}---\n${deep}`, 'deep.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.message)).toEqual(['expected valid YAML: the document nests too deep to read (thousands of levels; no Kubernetes object nests that deep)']);
  });
});
