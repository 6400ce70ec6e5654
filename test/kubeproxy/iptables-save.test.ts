import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { renderIptablesSave, renderNodeRules, formatStatistic, statisticFixed, kubeProxyProbability } from '../../src/kubeproxy/index.js';
import { kernelRoundTrip, restoreTest, withoutComments } from './kernel.js';
import * as S from './scenarios.js';

const golden = fileURLToPath(new URL('./fixtures/default-node-1.iptables-save', import.meta.url));

const CASES: Array<[string, string]> = [
  ['default', ''],
  ['NodePort + externalTrafficPolicy Local', S.NODEPORT_LOCAL],
  ['LoadBalancer', S.LOAD_BALANCER],
  ['ClientIP affinity', S.AFFINITY],
  ['services without endpoints', S.NO_ENDPOINTS],
  ['three endpoints', S.THREE_ENDPOINTS],
  ['LoadBalancer firewall (loadBalancerSourceRanges) and an external IP', S.lbFirewall()],
  ['LoadBalancer with externalTrafficPolicy Local (health check node port)', S.lbLocal(32000)],
];

describe('iptables-save output', () => {
  test('default scenario, node-1: golden file (taken from the kernel: iptables-save after iptables-restore)', () => {
    const text = renderIptablesSave(renderNodeRules(S.defaultCluster(), 'node-1'));
    expect(withoutComments(text)).toBe(readFileSync(golden, 'utf8'));
  });

  for (const [name, extra] of CASES) {
    test(`iptables-restore --test accepts it: ${name}`, () => {
      const c = S.withExtra(extra);
      for (const n of c.nodes) {
        const r = restoreTest(renderIptablesSave(renderNodeRules(c, n.name)));
        expect(r.stderr).toBe('');
        expect(r.ok).toBe(true);
      }
    });

    test(`restored in a network namespace, iptables-save prints exactly our text: ${name}`, () => {
      const c = S.withExtra(extra);
      for (const n of c.nodes) {
        const text = renderIptablesSave(renderNodeRules(c, n.name));
        expect(kernelRoundTrip(text)).toBe(withoutComments(text));
      }
    });
  }

  test('the test helper notices a difference (the kernel normalizes kube-proxy-style input)', () => {
    const raw = '*nat\n:KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\nCOMMIT\n';
    expect(kernelRoundTrip(raw, ['nat'])).toContain('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000');
    expect(restoreTest('*nat\n-A PREROUTING -p tcp -m tcp --dport 99999 -j ACCEPT\nCOMMIT\n').ok).toBe(false);
  });

  test('loadBalancerSourceRanges and externalIPs: the rules proxier.go writes, as the kernel saves them', () => {
    // Written the way proxier.go writes them (its argument order), for kube-proxy's own test service ns2/svc2:p80;
    // the kernel normalizes them, and each must be a line of dpemu's output.
    const h = 'GNZBNJ2PO5MGZ6GT';
    const kubeProxy = [
      '*filter',
      ':KUBE-PROXY-FIREWALL - [0:0]',
      `-A KUBE-PROXY-FIREWALL -m comment --comment "ns2/svc2:p80 traffic not accepted by KUBE-FW-${h}" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP`,
      'COMMIT',
      '*nat',
      ...['KUBE-SERVICES', `KUBE-EXT-${h}`, `KUBE-FW-${h}`].map((c) => `:${c} - [0:0]`),
      `-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.11 --dport 80 -j KUBE-EXT-${h}`,
      `-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-FW-${h}`,
      `-A KUBE-FW-${h} -m comment --comment "ns2/svc2:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-${h}`,
      `-A KUBE-FW-${h} -m comment --comment "ns2/svc2:p80 loadbalancer IP" -s 10.0.1.4/30 -j KUBE-EXT-${h}`,
      `-A KUBE-FW-${h} -m comment --comment "ns2/svc2:p80 loadbalancer IP" -s 1.2.3.4 -j KUBE-EXT-${h}`,
      `-A KUBE-FW-${h} -m comment --comment "other traffic to ns2/svc2:p80 will be dropped by KUBE-PROXY-FIREWALL"`,
      'COMMIT',
      '',
    ].join('\n');
    const saved = kernelRoundTrip(kubeProxy).split('\n').filter((l) => l.startsWith('-A '));
    expect(saved).toHaveLength(7);
    const ours = renderIptablesSave(renderNodeRules(S.withExtra(S.lbFirewall()), 'node-1')).split('\n');
    for (const line of saved) expect(ours, line).toContain(line);
    // The firewall chain keeps kube-proxy's order: the ranges, the node's VIP rule, then the rule without a target.
    expect(ours.filter((l) => l.startsWith(`-A KUBE-FW-${h}`))).toEqual(saved.filter((l) => l.startsWith(`-A KUBE-FW-${h}`)));
  });

  test('three endpoints: 0.33333333349 then 0.50000000000, as iptables-save shows them', () => {
    const text = renderIptablesSave(renderNodeRules(S.withExtra(S.THREE_ENDPOINTS), 'node-1'));
    const lines = text.split('\n').filter((l) => l.includes('default/tri:http ->'));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('-m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-');
    expect(lines[1]).toContain('-m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-');
    expect(lines[2]).not.toContain('statistic');
  });

  test('probability conversion: kube-proxy %0.10f, libxt_statistic lround(p * 2^31), printed %.11f', () => {
    expect(kubeProxyProbability(3)).toBe('0.3333333333');
    expect(kubeProxyProbability(2)).toBe('0.5000000000');
    expect(kubeProxyProbability(7)).toBe('0.1428571429');
    // Go rounds the exact tie 0.00048828125 half to even; JS toFixed would round it up.
    expect(kubeProxyProbability(2048)).toBe('0.0004882812');
    expect(statisticFixed(0.3333333333)).toBe(715827883);
    expect(formatStatistic(statisticFixed(0.3333333333))).toBe('0.33333333349');
    expect(formatStatistic(statisticFixed(0.5))).toBe('0.50000000000');
    expect(formatStatistic(statisticFixed(Number(kubeProxyProbability(7))))).toBe('0.14285714272');
  });

  test('per node: Local policy differs between the node with the endpoint and the one without', () => {
    const c = S.withExtra(S.NODEPORT_LOCAL);
    const n1 = renderIptablesSave(renderNodeRules(c, 'node-1'));
    const n2 = renderIptablesSave(renderNodeRules(c, 'node-2'));
    expect(n1).toContain('-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/web:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j DROP');
    expect(n1).not.toContain(':KUBE-SVL-');
    expect(n2).not.toContain('has no local endpoints');
    expect(n2).toMatch(/-A KUBE-EXT-(\w+) -j KUBE-SVL-\1\n/);
    expect(n2).toMatch(/-A KUBE-SVL-\w+ -m comment --comment "default\/web:http -> 10\.244\.2\.30:8080" -j KUBE-SEP-/);
  });

  test('no endpoints: filter-table REJECT for the cluster IP and the NodePort, no nat chains', () => {
    const text = renderIptablesSave(renderNodeRules(S.withExtra(S.NO_ENDPOINTS), 'node-1'));
    expect(text).toContain('-A KUBE-SERVICES -d 10.96.4.4/32 -p tcp -m comment --comment "default/empty:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable');
    expect(text).toContain('-A KUBE-EXTERNAL-SERVICES -p udp -m comment --comment "default/empty:dns has no endpoints" -m addrtype --dst-type LOCAL -m udp --dport 30053 -j REJECT --reject-with icmp-port-unreachable');
    expect(text).not.toContain('default/empty:http cluster IP');
  });

  test('unknown node is a typed error', () => {
    expect(() => renderNodeRules(S.defaultCluster(), 'node-9')).toThrowError(expect.objectContaining({ code: 'KP_UNKNOWN_NODE' }));
  });
});
