import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { withExtra } from '../kubeproxy/scenarios.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import type { FlowProto } from '../../src/policy/engine.js';
import { formatIpv4 } from '../../src/scenario/ipv4.js';

const APPS = ['a', 'b', 'c'];
const NSS = ['n1', 'n2'];
const PORTS = [53, 80, 443, 8080];
/** Container ports derive from the app label, so pods of one identity define the same named ports. */
const podYaml = (i: number, ns: string, app: string) => `---
apiVersion: v1
kind: Pod
metadata: { name: p${i}, namespace: ${ns}, labels: { app: ${app} } }
spec: { nodeName: node-${(i % 3) + 1}, containers: [{ name: c, image: c, ports: [{ name: svc, containerPort: ${8000 + APPS.indexOf(app)} }] }] }
status: { podIP: 10.244.${(i % 3) + 1}.${100 + i} }
`;

const sel = fc.oneof(
  fc.constant('{}'),
  fc.constantFrom(...APPS).map((a) => `{ matchLabels: { app: ${a} } }`),
  fc.constantFrom(...APPS).map((a) => `{ matchExpressions: [{ key: app, operator: NotIn, values: [${a}] }] }`),
);
const cidr = fc.constantFrom('0.0.0.0/0', '203.0.113.0/24', '10.0.0.0/8', '198.51.100.0/25');
const npPeer = fc.oneof(
  sel.map((s) => `{ podSelector: ${s} }`),
  fc.tuple(sel, fc.constantFrom(...NSS)).map(([s, n]) => `{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ${n} } }, podSelector: ${s} }`),
  cidr.map((c) => (c === '203.0.113.0/24' ? `{ ipBlock: { cidr: ${c}, except: [203.0.113.128/26] } }` : `{ ipBlock: { cidr: ${c} } }`)),
);
const npPort = fc.oneof(
  fc.constantFrom(...PORTS).map((p) => `{ port: ${p} }`),
  fc.constantFrom(...PORTS).map((p) => `{ protocol: UDP, port: ${p} }`),
  fc.constant('{ port: 8000, endPort: 8100 }'),
  fc.constant('{ port: svc }'),
);
const npRule = fc.tuple(fc.array(npPeer, { maxLength: 2 }), fc.array(npPort, { maxLength: 2 }));
const rulesYaml = (key: string, peer: string, rs: Array<[string[], string[]]>) =>
  rs.map(([peers, ports]) => `    - { ${peers.length ? `${peer}: [${peers.join(', ')}], ` : ''}${ports.length ? `ports: [${ports.join(', ')}]` : ''} }`).join('\n');
const np = fc.record({ ns: fc.constantFrom(...NSS), sel, types: fc.constantFrom('[Ingress]', '[Egress]', '[Ingress, Egress]'), ing: fc.array(npRule, { maxLength: 2 }), eg: fc.array(npRule, { maxLength: 2 }) });

const cnpPeer = fc.oneof(
  sel.map((s) => `toEndpoints: [${s}]`),
  fc.constantFrom('world', 'cluster', 'host', 'remote-node', 'all').map((e) => `toEntities: [${e}]`),
  cidr.map((c) => `toCIDRSet: [{ cidr: ${c}${c === '10.0.0.0/8' ? ', except: [10.244.0.0/16]' : ''} }]`),
  fc.constant(''),
);
const cnpPorts = fc.oneof(fc.constant(''), fc.constantFrom(...PORTS).map((p) => `toPorts: [{ ports: [{ port: "${p}", protocol: TCP }] }]`), fc.constant('toPorts: [{ ports: [{ port: "53", protocol: ANY }] }]'));
const cnpRule = fc.tuple(cnpPeer, cnpPorts).map(([p, t]) => `{ ${[p, t].filter(Boolean).join(', ')} }`);
const cnp = fc.record({
  ns: fc.constantFrom(...NSS),
  sel,
  sections: fc.array(fc.tuple(fc.constantFrom('ingress', 'ingressDeny', 'egress', 'egressDeny'), fc.array(cnpRule, { minLength: 1, maxLength: 2 })), { maxLength: 3 }),
});

const INGRESS_OF = (r: string) => r.replace(/toEndpoints/g, 'fromEndpoints').replace(/toEntities/g, 'fromEntities').replace(/toCIDRSet/g, 'fromCIDRSet');

describe('parity: eBPF policy maps and iptables chains give the same verdict', () => {
  it('for random pods, policies and flows', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...NSS), fc.constantFrom(...APPS)), { minLength: 2, maxLength: 6 }),
        fc.array(np, { maxLength: 3 }),
        fc.array(cnp, { maxLength: 2 }),
        fc.constantFrom('default', 'always'),
        (pods, nps, cnps, enforcement) => {
          let y = NSS.map((n) => `---\napiVersion: v1\nkind: Namespace\nmetadata: { name: ${n} }\n`).join('');
          pods.forEach(([ns, app], i) => (y += podYaml(i, ns, app)));
          nps.forEach((p, i) => {
            y += `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: np${i}, namespace: ${p.ns} }\nspec:\n  podSelector: ${p.sel}\n  policyTypes: ${p.types}\n`;
            if (p.ing.length) y += `  ingress:\n${rulesYaml('ingress', 'from', p.ing)}\n`;
            if (p.eg.length) y += `  egress:\n${rulesYaml('egress', 'to', p.eg)}\n`;
          });
          cnps.forEach((p, i) => {
            y += `---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: { name: cnp${i}, namespace: ${p.ns} }\nspec:\n  endpointSelector: ${p.sel}\n`;
            const seen = new Set<string>();
            for (const [sec, rules] of p.sections) {
              if (seen.has(sec)) continue;
              seen.add(sec);
              y += `  ${sec}:\n${rules.map((r) => `    - ${sec.startsWith('ingress') ? INGRESS_OF(r) : r}`).join('\n')}\n`;
            }
          });
          const cluster = withExtra(y);
          const e = new PolicyEngine(cluster, { mode: 'ebpf', enforcement: enforcement as 'default' });
          const t = new PolicyEngine(cluster, { mode: 'iptables', enforcement: enforcement as 'default' });
          expect(t.diagnostics).toEqual(e.diagnostics);
          const peers = [...cluster.pods.map((p) => p.ip32), ...cluster.nodes.map((n) => n.ip32), 0xcb007105, 0xcb0071c5, 0xc6336405, 0x0a630001, 0x08080808];
          const protos: FlowProto[] = ['tcp', 'udp', 'icmp'];
          for (const pod of cluster.pods)
            for (const peer of peers)
              for (const proto of protos)
                for (const port of [53, 80, 8001, 8080]) {
                  for (const dir of ['ingress', 'egress'] as const) {
                    const a = e.decide(pod, dir, peer, proto, port);
                    const b = t.decide(pod, dir, peer, proto, port);
                    seen.add(`${a.verdict}/${a.dropReason}`);
                    if (a.verdict !== b.verdict || a.dropReason !== b.dropReason)
                      throw new Error(`${pod.namespace}/${pod.name} ${dir} ${formatIpv4(peer)} ${proto}/${port}: ebpf ${a.verdict}/${a.dropReason} iptables ${b.verdict}/${b.dropReason}\n${y}`);
                  }
                }
        },
      ),
      { numRuns: 60, seed: 7 },
    );
    // The generated sets exercise every outcome (a parity test over all-ALLOW verdicts would prove nothing).
    expect([...seen].sort()).toEqual(['ALLOW/null', 'DENY/POLICY_DENIED', 'DENY/POLICY_DENY']);
  });
});
