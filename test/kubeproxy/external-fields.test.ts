/**
 * spec.externalIPs and spec.loadBalancerSourceRanges: modelled in kube-proxy's iptables mode (walk.test.ts,
 * iptables-save.test.ts); in ipvs and ebpf mode said to be unmodelled, never silently dropped. Values are checked
 * as the apiserver does; IPv6 ones belong to the other family and are skipped with a warning.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { defaultScenarioPath, loadScenario } from '../../src/scenario/index.js';

function load(spec: string, mode = 'iptables') {
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
  const base = readFileSync(defaultScenarioPath(), 'utf8').replace(/mode: iptables/, `mode: ${mode}`);
  return loadScenario([{ name: 'default', text: base }, { name: 'extra.yaml', text: extra }]);
}

function warnings(spec: string, mode = 'iptables'): string[] {
  const r = load(spec, mode);
  if (!r.ok) throw new Error(r.error.message);
  return r.warnings.filter((w) => w.includes('default/fenced') && !w.includes('has no selector'));
}

describe('externalIPs and loadBalancerSourceRanges', () => {
  test('iptables mode: modelled, normalized as kube-proxy prints them, no warning', () => {
    const r = load('  externalIPs: [198.51.100.7]\n  loadBalancerSourceRanges: [203.0.113.9/24, " 10.1.0.0/16 "]\n');
    if (!r.ok) throw new Error(r.error.message);
    const svc = r.cluster.services.find((s) => s.name === 'fenced')!;
    expect(svc.externalIps).toEqual(['198.51.100.7']);
    expect(svc.loadBalancerSourceRanges).toEqual(['203.0.113.0/24', '10.1.0.0/16']);
    expect(r.warnings.filter((w) => w.includes('default/fenced') && !w.includes('has no selector'))).toEqual([]);
  });

  for (const mode of ['ipvs', 'ebpf']) {
    test(`${mode} mode: a warning for each, naming the mode`, () => {
      const w = warnings('  externalIPs: [198.51.100.7]\n  loadBalancerSourceRanges: [203.0.113.0/24]\n', mode);
      expect(w).toEqual([
        expect.stringContaining(`spec.externalIPs (198.51.100.7) is not modelled in ${mode} mode`),
        expect.stringContaining(`spec.loadBalancerSourceRanges (203.0.113.0/24) is not modelled in ${mode} mode`),
      ]);
    });
  }

  test('IPv6 values are skipped with a warning; anything else is a problem naming the field', () => {
    expect(warnings('  externalIPs: ["2001:db8::7"]\n  loadBalancerSourceRanges: ["2001:db8::/64"]\n')).toEqual([
      expect.stringContaining('spec.externalIPs[0] 2001:db8::7 is IPv6: skipped'),
      expect.stringContaining('spec.loadBalancerSourceRanges[0] 2001:db8::/64 is IPv6: skipped'),
    ]);
    const bad = load('  externalIPs: [198.51.100.700]\n  loadBalancerSourceRanges: [203.0.113.0/33]\n');
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.message).toContain('spec.externalIPs[0]');
      expect(bad.error.message).toContain('expected an IPv4 address, got "198.51.100.700"');
      expect(bad.error.message).toContain('spec.loadBalancerSourceRanges[0]');
    }
  });

  test('neither: no warning', () => {
    expect(warnings('  loadBalancerSourceRanges: []\n')).toEqual([]);
  });
});
