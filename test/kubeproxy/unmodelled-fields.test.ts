/** Service fields that change kube-proxy's rules but dpemu does not model: said, not silently dropped. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { defaultScenarioPath, loadScenario } from '../../src/scenario/index.js';

function warnings(spec: string): string[] {
  const extra = `---
apiVersion: v1
kind: Service
metadata: { name: fenced, namespace: default }
spec:
  type: LoadBalancer
  clusterIP: 10.96.14.14
${spec}  ports: [{ name: https, port: 443, protocol: TCP, nodePort: 31444 }]
status: { loadBalancer: { ingress: [{ ip: 192.0.2.14 }] } }
`;
  const r = loadScenario([{ name: 'default', text: readFileSync(defaultScenarioPath(), 'utf8') }, { name: 'extra.yaml', text: extra }]);
  if (!r.ok) throw new Error(r.error.message);
  return r.warnings.filter((w) => w.includes('default/fenced') && w.includes('not modelled'));
}

describe('Service fields dpemu does not model', () => {
  test('loadBalancerSourceRanges: a warning that every source is accepted', () => {
    const w = warnings('  loadBalancerSourceRanges: [203.0.113.0/24]\n');
    expect(w).toEqual([expect.stringContaining('spec.loadBalancerSourceRanges (203.0.113.0/24) is not modelled')]);
    expect(w[0]).toContain('KUBE-PROXY-FIREWALL');
  });

  test('externalIPs: a warning', () => {
    const w = warnings('  externalIPs: [198.51.100.7]\n');
    expect(w).toEqual([expect.stringContaining('spec.externalIPs (198.51.100.7) is not modelled')]);
  });

  test('neither: no warning', () => {
    expect(warnings('  loadBalancerSourceRanges: []\n')).toEqual([]);
  });
});
