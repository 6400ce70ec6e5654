import { describe, expect, it } from 'vitest';
import { policyCluster, policyPeerIp32, policyPeers, POLICY_PORT_BASE } from '../../src/bench/policy-data.js';
import { PolicyEngine } from '../../src/policy/engine.js';

describe('bench policy sets', () => {
  it('N rules give an N-rule iptables policy chain and N eBPF map entries, and draws are allowed', () => {
    const n = 250;
    const c = policyCluster(n, 'iptables');
    const target = c.pods.find((p) => p.name === 'target')!;
    const ipt = new PolicyEngine(c, { mode: 'iptables' });
    const text = ipt.renderRules('node-2');
    const policyRules = text.split('\n').filter((l) => l.startsWith('-A cali-pi-') && l.includes('--dport'));
    expect(policyRules).toHaveLength(n);
    const bpf = new PolicyEngine(c, { mode: 'ebpf' });
    expect(bpf.diagnostics.filter((d) => d.severity === 'error')).toHaveLength(0);
    const p = policyPeers(n);
    for (const [i, mode] of [[0, 'x'], [n - 1, 'x'], [137, 'x']] as const) {
      void mode;
      const peer = policyPeerIp32(i % p), port = POLICY_PORT_BASE + Math.floor(i / p);
      expect(ipt.decide(target, 'ingress', peer, 'tcp', port).verdict).toBe('ALLOW');
      expect(bpf.decide(target, 'ingress', peer, 'tcp', port).verdict).toBe('ALLOW');
    }
    // A (peer, port) pair no rule names is denied in both models.
    const miss = POLICY_PORT_BASE + Math.ceil(n / p) + 1;
    expect(ipt.decide(target, 'ingress', policyPeerIp32(0), 'tcp', miss).verdict).toBe('DENY');
    expect(bpf.decide(target, 'ingress', policyPeerIp32(0), 'tcp', miss).verdict).toBe('DENY');
  });
});
