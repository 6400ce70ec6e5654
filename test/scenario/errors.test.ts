import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DpemuError } from '../../src/util/errors.js';
import { ScenarioError, formatProblem, loadScenario, loadScenarioOrThrow, loadScenarioText, packageRoot } from '../../src/scenario/index.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { TWO_NODES } from './helpers.js';

/** The problems of a scenario that must not load: [path, its message up to the first ';']. */
function problemHeads(text: string, file: string): string[][] {
  const r = loadScenarioText(text, file);
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.problems.map((p) => [p.path, p.message.split(';')[0]!]);
}

const BAD = `# line 1
apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: bad}
spec:
  nodes:
    - name: n1
      ip: 10.0.1.5
      podCIDR: 10.244.1.0/24
    - name: n2
      ip: 10.0.1.300
      podCIDR: 10.244.1.0
  tunnel:
    mode: geneve
    vni: 1
  kubeProxy: {mode: iptables, mangaes: true}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports:
    - port: 80
      targetPort: 70000
      protocol: tcp
`;

describe('validation problems', () => {
  it('reports every problem with file, document, line, field path and expectation', () => {
    const r = loadScenarioText(BAD, 'bad.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const rows = r.problems.map((p) => [p.file, p.doc, p.line, p.path]);
    expect(rows).toEqual([
      ['bad.yaml', 1, 11, 'spec.nodes[1].ip'],
      ['bad.yaml', 1, 12, 'spec.nodes[1].podCIDR'],
      ['bad.yaml', 1, 14, 'spec.tunnel.mode'],
      ['bad.yaml', 1, 16, 'spec.kubeProxy.mangaes'],
      ['bad.yaml', 2, 24, 'spec.ports[0].targetPort'],
      ['bad.yaml', 2, 25, 'spec.ports[0].protocol'],
    ]);
    const msg = Object.fromEntries(r.problems.map((p) => [p.path, p.message]));
    expect(msg['spec.nodes[1].podCIDR']).toMatch(/^expected an IPv4 CIDR like 10\.244\.1\.0\/24.*, got "10\.244\.1\.0"$/);
    expect(msg['spec.nodes[1].ip']).toBe('expected an IPv4 address like 10.0.1.5, got "10.0.1.300"');
    expect(msg['spec.tunnel.mode']).toBe('expected vxlan or native, got "geneve"');
    expect(msg['spec.kubeProxy.mangaes']).toMatch(/^unknown field/);
    expect(msg['spec.ports[0].targetPort']).toBe('expected a port number 1-65535, got 70000');
    expect(msg['spec.ports[0].protocol']).toBe('expected TCP, UDP or SCTP (upper case), got "tcp"');
    expect(formatProblem(r.problems[1])).toBe(
      'bad.yaml:doc 1 (line 12): spec.nodes[1].podCIDR: ' + msg['spec.nodes[1].podCIDR'],
    );
  });

  it('throws one ScenarioError carrying all problems, with a stable code', () => {
    let caught: unknown;
    try {
      loadScenarioOrThrow([{ name: 'bad.yaml', text: BAD }]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ScenarioError);
    expect(caught).toBeInstanceOf(DpemuError);
    const e = caught as ScenarioError;
    expect(e.code).toBe('SCENARIO_INVALID');
    expect(e.problems).toHaveLength(6);
    expect(e.message.split('\n')).toHaveLength(7);
    expect(e.message).toContain('bad.yaml:doc 2 (line 25): spec.ports[0].protocol:');
  });

  it('says a required field is missing rather than "got nothing"', () => {
    const r = loadScenarioText(`apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - name: a\n`, 's.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ file: 's.yaml', doc: 1, line: 6, path: 'spec.ports[0].port' });
    expect(r.problems[0].message).toBe('missing; expected a port number 1-65535');
  });

  it('reports YAML syntax errors with their line and keeps checking the other documents', () => {
    const text = `apiVersion: v1\nkind: Pod\nmetadata: {name: a\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nstatus: {podIP: nope}\n`;
    const r = loadScenarioText(text, 'y.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({ file: 'y.yaml', doc: 1, path: '' });
    expect(r.problems[0].message).toMatch(/^expected valid YAML/);
    expect(r.problems.at(-1)).toMatchObject({ doc: 2, line: 8, path: 'status.podIP', message: 'expected an IPv4 address like 10.0.1.5, got "nope"' });
  });

  it('checks cross-object rules: unknown node, IP outside the node CIDR, duplicates, multi-port names', () => {
    // (doc 4, a Pod with no spec at all, is placed on a node with a warning: see the next test)
    const text = `${TWO_NODES}---
apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {nodeName: n9}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {nodeName: n1}
status: {podIP: 10.244.2.7}
---
apiVersion: v1
kind: Pod
metadata: {name: c}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{port: 80}, {port: 81}]
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{port: 80}]
`;
    const r = loadScenarioText(text, 'x.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const got = r.problems.map((p) => `${p.doc}:${p.line}:${p.path}: ${p.message}`);
    expect(got).toEqual([
      '2:12:spec.nodeName: expected one of the nodes n1, n2, got "n9"',
      '3:18:status.podIP: expected an address inside n1\'s pod CIDR 10.244.1.0/24, got "10.244.2.7"',
      '5:28:spec.ports[0].name: missing; expected a name on every port when a Service has more than one port',
      '5:28:spec.ports[1].name: missing; expected a name on every port when a Service has more than one port',
      '6:32:metadata.name: expected each Service once, but default/s is already defined at x.yaml:doc 5',
    ]);
  });

  it('places Pods without spec.nodeName: by their podIP\'s pod CIDR, else round robin over the nodes, with a warning', () => {
    const pod = (name: string, extra = '') => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, labels: {app: web}}\n${extra}`;
    const text = TWO_NODES + pod('a') + pod('b') + pod('c') + pod('d', 'status: {podIP: 10.244.2.9}\n') + pod('e', 'spec: {nodeName: n1}\n');
    const r = loadScenarioText(text, 'p.yaml');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.cluster.pods.map((p) => `${p.name}@${p.nodeName}`)).toEqual(['a@n1', 'b@n2', 'c@n1', 'd@n2', 'e@n1']);
    expect(r.cluster.pods.find((p) => p.name === 'd')!.ip).toBe('10.244.2.9');
    expect(r.warnings).toEqual(['a', 'b', 'c'].map((n, i) =>
      `p.yaml:doc ${i + 2}: Pod "default/${n}" has no spec.nodeName: placed on ${i % 2 === 0 ? 'n1' : 'n2'} (round robin over the nodes; kube-scheduler is not modelled, set spec.nodeName to choose)`));
  });

  it('reports an unreadable file as a problem, not an exception', () => {
    const r = loadScenario(['/nonexistent/dpemu/scenario.yaml']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0].file).toBe('/nonexistent/dpemu/scenario.yaml');
    expect(r.problems[0].message).toMatch(/^expected a readable scenario file/);
  });

  it('the same file given twice is one problem, not one \'already defined\' per object', () => {
    const file = join(packageRoot(), 'pcaps', 'default', 'scenario.yaml');
    const r = loadScenario([file, join(packageRoot(), 'pcaps', '..', 'pcaps', 'default', 'scenario.yaml')]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.message)).toEqual([`given twice (also as ${file}): give each scenario file once`]);
  });

  it('a Node object completing a Cluster node must agree with it', () => {
    const text = `${TWO_NODES}---
apiVersion: v1
kind: Node
metadata: {name: n2}
status:
  addresses:
    - {type: Hostname, address: n2}
    - {type: InternalIP, address: 10.0.0.9}
`;
    const r = loadScenarioText(text, 'n.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      {
        file: 'n.yaml', doc: 2, line: 15, path: 'status.addresses[1].address',
        message: 'expected 10.0.0.2 as in n.yaml:doc 1 spec.nodes[1].ip, got "10.0.0.9"',
      },
    ]);
  });
});

describe('label selectors', () => {
  it('a misspelt selector key is a problem, not an empty selector that selects every pod', () => {
    const text = `${TWO_NODES}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-only}
spec:
  podSelector: {matchLabel: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: c}
spec:
  endpointSelector: {matchlabels: {app: web}}
`;
    expect(problemHeads(text, 'sel.yaml')).toEqual([
      ['spec.podSelector.matchLabel', 'unknown field'],
      ['spec.endpointSelector.matchlabels', 'unknown field'],
    ]);
  });
});

describe('NetworkPolicy fields are strict, as the apiserver validates them', () => {
  // Loose rule objects read `form:` as a rule without `from` (every peer allowed) and `port:` as no
  // `ports` (every port): the opposite of what the author wrote.
  it('a misspelt from/ports/ingress/ipBlock key is an unknown-field problem naming its path', () => {
    const text = `${TWO_NODES}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db}
spec:
  podSelector: {matchLabels: {role: db}}
  policyType: [Ingress]
  ingress:
  - form: [{podSelector: {matchLabels: {role: frontend}}}]
  - from: [{ipBlock: {cidr: 172.17.0.0/16, exept: [172.17.1.0/24]}}]
    port: [{port: 6379}]
  - from: [{podSelector: {}, namspaceSelector: {}}]
    ports: [{protocol: TCP, port: 6379, endport: 6380}]
`;
    expect(problemHeads(text, 'np.yaml')).toEqual([
      ['spec.policyType', 'unknown field'],
      ['spec.ingress[0].form', 'unknown field'],
      ['spec.ingress[1].from[0].ipBlock.exept', 'unknown field'],
      ['spec.ingress[1].port', 'unknown field'],
      ['spec.ingress[2].from[0].namspaceSelector', 'unknown field'],
      ['spec.ingress[2].ports[0].endport', 'unknown field'],
    ]);
  });
});

describe('CiliumNetworkPolicy fields are strict over Cilium\'s API; unmodelled ones are warned by name', () => {
  const cnp = (spec: string): string => `${TWO_NODES}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: c}
spec:
${spec}`;

  it('a misspelt peer list or section is an unknown-field problem, not an allow-every-peer rule', () => {
    expect(problemHeads(cnp(`  endpointSelector: {matchLabels: {role: backend}}
  ingres: [{fromEndpoints: [{}]}]
  ingress:
  - fromEndpoint: [{matchLabels: {role: frontend}}]
    toPorts: [{ports: [{port: "80", protcol: TCP}]}]
  egress:
  - toCIDRSet: [{cidr: 10.0.0.0/8, exception: [10.96.0.0/12]}]`), 'cnp.yaml')).toEqual([
      ['spec.ingres', 'unknown field'],
      ['spec.ingress[0].fromEndpoint', 'unknown field'],
      ['spec.ingress[0].toPorts[0].ports[0].protcol', 'unknown field'],
      ['spec.egress[0].toCIDRSet[0].exception', 'unknown field'],
    ]);
  });

  it("Cilium's documented icmps, serverNames and enableDefaultDeny load with a warning each naming the field", () => {
    const r = loadScenarioText(cnp(`  endpointSelector: {matchLabels: {app: myService}}
  enableDefaultDeny: {egress: false}
  egress:
  - icmps: [{fields: [{type: 8, family: IPv4}]}]
  - toPorts: [{ports: [{port: "443", protocol: TCP}], serverNames: [one.one.one.one]}]`), 'cnp.yaml');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const d = compilePolicies(r.cluster).diagnostics;
    expect(d.map((x) => [x.severity, x.code, x.field])).toEqual([
      ['warning', 'POLICY_UNSUPPORTED', 'spec.enableDefaultDeny'],
      ['warning', 'POLICY_UNSUPPORTED', 'spec.egress[0].icmps'],
      ['warning', 'POLICY_UNSUPPORTED', 'spec.egress[1].toPorts[0].serverNames'],
    ]);
    expect(d[1].message).toContain('Cilium allows only the listed ICMP types');
  });

  it('a toCIDRSet entry naming a CiliumCIDRGroup loads with a warning (it selects nothing); cidr and a group together is a problem', () => {
    const r = loadScenarioText(cnp(`  endpointSelector: {matchLabels: {app: myService}}
  egress:
  - toCIDRSet: [{cidrGroupRef: office-ranges}, {cidr: 192.0.2.0/24}]`), 'cnp.yaml');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(compilePolicies(r.cluster).diagnostics.map((x) => [x.code, x.field])).toEqual([['POLICY_UNSUPPORTED', 'spec.egress[0].toCIDRSet[0].cidrGroupRef']]);
    const both = loadScenarioText(cnp(`  endpointSelector: {matchLabels: {app: myService}}
  egress:
  - toCIDRSet: [{cidr: 192.0.2.0/24, cidrGroupRef: office-ranges}]`), 'cnp.yaml');
    expect(both.ok).toBe(false);
    if (both.ok) return;
    expect(both.problems.map((p) => [p.path, p.message])).toEqual([['spec.egress[0].toCIDRSet[0]', 'expected exactly one of cidr, cidrGroupRef or cidrGroupSelector, got a mapping']]);
  });
});
