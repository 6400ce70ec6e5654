/**
 * EndpointSlice conditions serving/terminating: kube-proxy (proxy.CategorizeEndpoints) falls back to
 * endpoints that are serving and terminating when no endpoint is ready, instead of rejecting.
 */
import { describe, expect, test } from 'vitest';
import { renderIptablesSave, renderNodeRules } from '../../src/kubeproxy/index.js';
import * as S from './scenarios.js';

function svc(extra: string, endpoints: string): string {
  return `---
apiVersion: v1
kind: Service
metadata: { name: drain, namespace: default }
spec:
  type: NodePort
  clusterIP: 10.96.12.12
${extra}  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP, nodePort: 30120 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: drain-abcde, namespace: default, labels: { kubernetes.io/service-name: drain } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
${endpoints}`;
}

const TERMINATING = `  - { addresses: [10.244.2.60], nodeName: node-2, conditions: { ready: false, serving: true, terminating: true } }
  - { addresses: [10.244.3.60], nodeName: node-3, conditions: { ready: false, serving: false, terminating: true } }
`;

const rules = (yaml: string, node: string): string[] => renderIptablesSave(renderNodeRules(S.withExtra(yaml), node)).split('\n');
const svcLines = (lines: string[]): string[] => lines.filter((l) => l.includes('default/drain:http'));

describe('serving terminating endpoints', () => {
  test('no ready endpoint: the serving terminating one gets a KUBE-SEP, no REJECT', () => {
    const lines = svcLines(rules(svc('', TERMINATING), 'node-1'));
    expect(lines.some((l) => l.includes('-j REJECT'))).toBe(false);
    expect(lines.filter((l) => l.includes('-j DNAT'))).toEqual([expect.stringContaining('--to-destination 10.244.2.60:8080')]);
    expect(lines.some((l) => l.startsWith('-A KUBE-SERVICES -d 10.96.12.12/32') && l.includes('-j KUBE-SVC-'))).toBe(true);
    expect(lines.some((l) => l.startsWith('-A KUBE-NODEPORTS') && l.includes('-j KUBE-EXT-'))).toBe(true);
  });

  test('a ready endpoint wins: terminating ones are not used', () => {
    const eps = `${TERMINATING}  - { addresses: [10.244.1.60], nodeName: node-1 }\n`;
    const dnats = svcLines(rules(svc('', eps), 'node-2')).filter((l) => l.includes('-j DNAT'));
    expect(dnats).toEqual([expect.stringContaining('--to-destination 10.244.1.60:8080')]);
  });

  test('externalTrafficPolicy Local: a local serving terminating endpoint when no local one is ready', () => {
    const eps = `${TERMINATING}  - { addresses: [10.244.1.60], nodeName: node-1 }\n`;
    const lines = svcLines(rules(svc('  externalTrafficPolicy: Local\n', eps), 'node-2'));
    const svl = lines.filter((l) => l.startsWith('-A KUBE-SVL-'));
    expect(svl).toEqual([expect.stringContaining('default/drain:http -> 10.244.2.60:8080')]);
    expect(lines.some((l) => l.includes('has no local endpoints'))).toBe(false);
    // Cluster traffic still goes to the ready endpoint only.
    expect(lines.filter((l) => l.startsWith('-A KUBE-SVC-') && l.includes(' -> '))).toEqual([expect.stringContaining('-> 10.244.1.60:8080')]);
  });

  test('neither ready nor serving: REJECT as before', () => {
    const eps = `  - { addresses: [10.244.3.60], nodeName: node-3, conditions: { ready: false, serving: false, terminating: true } }\n`;
    const lines = svcLines(rules(svc('', eps), 'node-1'));
    expect(lines.filter((l) => l.includes('-j REJECT'))).toHaveLength(2);
  });
});
