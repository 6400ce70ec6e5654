import { describe, expect, test } from 'vitest';
import { CT_ESTABLISHED, CT_NEW, RecentTable, renderNodeRules, rulesCommand, walkChain } from '../../src/kubeproxy/index.js';
import type { Chain, KpPacket, Rule, RuleSet, WalkContext } from '../../src/kubeproxy/index.js';
import { parseIpv4 } from '../../src/scenario/index.js';
import { Prng } from '../../src/util/prng.js';
import * as S from './scenarios.js';

const ip = (t: string): number => parseIpv4(t)!;

function pkt(src: string, dst: string, dport: number, extra: Partial<KpPacket> = {}): KpPacket {
  return { src32: ip(src), dst32: ip(dst), proto: 'tcp', sport: 40000, dport, mark: 0, srcIsLocal: false, dstIsLocal: false, ctstate: CT_NEW, ...extra };
}

function ctx(seed = 1): WalkContext {
  return { rng: new Prng(seed), recent: new RecentTable(), now: 0 };
}

/** nat PREROUTING for a new connection: the backend it is DNATed to, or null. */
function dnat(rs: RuleSet, p: KpPacket, c: WalkContext): string | null {
  const r = walkChain(rs, 'nat', 'PREROUTING', p, c);
  return r.nat?.kind === 'DNAT' ? `${r.nat.addr}:${r.nat.port}` : null;
}

describe('chain walker', () => {
  test('a goto cycle ends the walk with KP_CHAIN_LOOP (the kernel refuses such a table), a jump cycle too', () => {
    const loop = (kind: 'goto' | 'jump'): RuleSet => ({
      node: 'n',
      tables: {
        filter: [
          { name: 'OUTPUT', builtin: true, policy: 'ACCEPT', rules: [{ table: 'filter', chain: 'OUTPUT', matches: [], target: { kind, chain: 'A' } }] },
          { name: 'A', builtin: false, policy: null, rules: [{ table: 'filter', chain: 'A', matches: [], target: { kind, chain: 'B' } }] },
          { name: 'B', builtin: false, policy: null, rules: [{ table: 'filter', chain: 'B', matches: [], target: { kind, chain: 'A' } }] },
        ],
        nat: [],
      },
    });
    for (const kind of ['goto', 'jump'] as const) {
      expect(() => walkChain(loop(kind), 'filter', 'OUTPUT', pkt('10.244.1.5', '10.96.3.3', 80), ctx())).toThrow(expect.objectContaining({ code: 'KP_CHAIN_LOOP' }));
    }
  });

  test('a chain edited after a walk is walked as edited (a rule replaced in place, a rule added, the array replaced)', () => {
    const accept: Rule = { table: 'filter', chain: 'OUTPUT', matches: [], target: { kind: 'ACCEPT' } };
    const drop: Rule = { table: 'filter', chain: 'OUTPUT', matches: [], target: { kind: 'DROP' } };
    const toPort = (port: number): Rule => ({ table: 'filter', chain: 'OUTPUT', protocol: 'tcp', matches: [{ kind: 'l4', module: 'tcp', dport: port }], target: { kind: 'DROP' } });
    const out: Chain = { name: 'OUTPUT', builtin: true, policy: 'ACCEPT', rules: [toPort(81)] };
    const rs: RuleSet = { node: 'n', tables: { filter: [out], nat: [] } };
    const walk = (): string => walkChain(rs, 'filter', 'OUTPUT', pkt('10.244.1.5', '10.96.3.3', 80), ctx()).verdict;
    expect(walk()).toBe('ACCEPT');
    out.rules[0] = toPort(80);
    expect(walk()).toBe('DROP');
    out.rules[0] = toPort(81);
    out.rules.push(drop);
    expect(walk()).toBe('DROP');
    out.rules = [accept, drop];
    expect(walk()).toBe('ACCEPT');
  });

  test('three endpoints are picked uniformly (seeded, statistical bounds)', () => {
    const rs = renderNodeRules(S.withExtra(S.THREE_ENDPOINTS), 'node-1');
    const c = ctx(7);
    const counts = new Map<string, number>();
    const N = 30000;
    for (let i = 0; i < N; i++) {
      const d = dnat(rs, pkt('10.244.1.5', '10.96.3.3', 80, { sport: 1024 + (i % 60000) }), c);
      counts.set(String(d), (counts.get(String(d)) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['10.244.1.31:8080', '10.244.2.31:8080', '10.244.3.31:8080']);
    // Binomial sd at p=1/3, N=30000 is ~82; 5 sd is ~410.
    for (const n of counts.values()) expect(Math.abs(n - N / 3)).toBeLessThan(410);
  });

  test('the same seed gives the same picks; another seed gives others', () => {
    const rs = renderNodeRules(S.withExtra(S.THREE_ENDPOINTS), 'node-1');
    const run = (seed: number) => {
      const c = ctx(seed);
      return Array.from({ length: 50 }, () => dnat(rs, pkt('10.244.1.5', '10.96.3.3', 80), c)).join(',');
    };
    expect(run(3)).toBe(run(3));
    expect(run(3)).not.toBe(run(4));
  });

  test('ClientIP affinity sticks per client, and expires after the timeout (10800 s)', () => {
    const rs = renderNodeRules(S.withExtra(S.AFFINITY), 'node-1');
    const c = ctx(11);
    const first = dnat(rs, pkt('10.244.1.5', '10.96.9.9', 80), c);
    expect(first).not.toBeNull();
    for (let i = 0; i < 200; i++) {
      c.now = i * 10;
      expect(dnat(rs, pkt('10.244.1.5', '10.96.9.9', 80, { sport: 20000 + i }), c)).toBe(first);
    }
    // Many different clients still spread over all three endpoints.
    const seen = new Set<string | null>();
    for (let i = 0; i < 300; i++) seen.add(dnat(rs, pkt(`10.244.3.${i % 250}`, '10.96.9.9', 80), c));
    expect(seen.size).toBe(3);
    // After the timeout the entry is reaped and the choice is random again.
    const picks = new Set<string | null>();
    let t = c.now;
    for (let i = 0; i < 60; i++) {
      t += 10801;
      c.now = t;
      picks.add(dnat(rs, pkt('10.244.1.5', '10.96.9.9', 80), c));
    }
    expect(picks.size).toBeGreaterThan(1);
  });

  test('pod to ClusterIP: DNAT without the masquerade mark; from outside the cluster CIDR: marked', () => {
    const rs = renderNodeRules(S.defaultCluster(), 'node-1');
    const fromPod = pkt('10.244.1.5', '10.96.5.20', 80);
    const r1 = walkChain(rs, 'nat', 'PREROUTING', fromPod, ctx());
    expect(r1.nat?.kind).toBe('DNAT');
    expect(fromPod.mark).toBe(0);
    expect(r1.matched.map((r) => r.chain)).toEqual(['PREROUTING', 'KUBE-SERVICES', expect.stringMatching(/^KUBE-SVC-/), expect.stringMatching(/^KUBE-SEP-/)]);
    const fromOutside = pkt('192.0.2.99', '10.96.5.20', 80);
    walkChain(rs, 'nat', 'PREROUTING', fromOutside, ctx());
    expect(fromOutside.mark).toBe(0x4000);
    // POSTROUTING masquerades the marked packet and clears the mark (--set-xmark 0x4000/0x0).
    const post = walkChain(rs, 'nat', 'POSTROUTING', fromOutside, ctx());
    expect(post.nat).toEqual({ kind: 'MASQUERADE', randomFully: true });
    expect(fromOutside.mark).toBe(0);
    // Unmarked traffic leaves POSTROUTING untouched.
    expect(walkChain(rs, 'nat', 'POSTROUTING', fromPod, ctx()).nat).toBeNull();
  });

  test('hairpin: a backend reaching itself through the VIP is marked for masquerade', () => {
    const rs = renderNodeRules(S.defaultCluster(), 'node-2');
    let hairpins = 0;
    const c = ctx(5);
    for (let i = 0; i < 40; i++) {
      const p = pkt('10.244.2.8', '10.96.5.20', 80);
      const d = dnat(rs, p, c);
      if (d === '10.244.2.8:8080') {
        hairpins++;
        expect(p.mark).toBe(0x4000);
      } else expect(p.mark).toBe(0);
    }
    expect(hairpins).toBeGreaterThan(0);
  });

  test('no endpoints: filter REJECT with icmp-port-unreachable for TCP and UDP', () => {
    const rs = renderNodeRules(S.withExtra(S.NO_ENDPOINTS), 'node-1');
    const tcp = walkChain(rs, 'filter', 'FORWARD', pkt('10.244.1.5', '10.96.4.4', 80), ctx());
    expect(tcp.verdict).toBe('REJECT');
    expect(tcp.rejectWith).toBe('icmp-port-unreachable');
    const udp = walkChain(rs, 'filter', 'OUTPUT', pkt('10.0.1.5', '10.96.4.4', 53, { proto: 'udp' }), ctx());
    expect(udp.verdict).toBe('REJECT');
    // Established traffic never reaches KUBE-SERVICES (the jump needs ctstate NEW).
    expect(walkChain(rs, 'filter', 'FORWARD', pkt('10.244.1.5', '10.96.4.4', 80, { ctstate: CT_ESTABLISHED }), ctx()).verdict).toBe('ACCEPT');
    // NodePort without endpoints: REJECT in KUBE-EXTERNAL-SERVICES on INPUT.
    const np = walkChain(rs, 'filter', 'INPUT', pkt('192.0.2.1', '10.0.1.5', 30404, { dstIsLocal: true }), ctx());
    expect(np.verdict).toBe('REJECT');
    expect(np.by?.chain).toBe('KUBE-EXTERNAL-SERVICES');
  });

  test('NodePort with externalTrafficPolicy Local: DNAT to the local endpoint keeping the source; DROP on a node without one', () => {
    const c = S.withExtra(S.NODEPORT_LOCAL);
    const n2 = renderNodeRules(c, 'node-2');
    const p2 = pkt('192.0.2.1', '10.0.1.6', 30080, { dstIsLocal: true });
    expect(dnat(n2, p2, ctx())).toBe('10.244.2.30:8080');
    expect(p2.mark).toBe(0);
    const n1 = renderNodeRules(c, 'node-1');
    const p1 = pkt('192.0.2.1', '10.0.1.5', 30080, { dstIsLocal: true });
    expect(dnat(n1, p1, ctx())).toBeNull();
    const f = walkChain(n1, 'filter', 'INPUT', p1, ctx());
    expect(f.verdict).toBe('DROP');
    // A pod on node-1 using the NodePort is short-circuited to the cluster-wide chain.
    expect(dnat(n1, pkt('10.244.1.5', '10.0.1.5', 30080, { dstIsLocal: true }), ctx())).toBe('10.244.2.30:8080');
  });

  test('LoadBalancer ingress IP: DNAT with masquerade (Cluster policy)', () => {
    const rs = renderNodeRules(S.withExtra(S.LOAD_BALANCER), 'node-1');
    const p = pkt('198.51.100.7', '192.0.2.10', 443);
    expect(dnat(rs, p, ctx())).toMatch(/^10\.244\.[23]\.40:8080$/);
    expect(p.mark).toBe(0x4000);
  });

  test('loadBalancerSourceRanges: a source in a range is DNATed; any other is left to KUBE-PROXY-FIREWALL, which drops it', () => {
    const rs = renderNodeRules(S.withExtra(S.lbFirewall('198.51.100.0/24')), 'node-1');
    const ok = pkt('203.0.113.9', '1.2.3.4', 80);
    expect(dnat(rs, ok, ctx())).toBe('10.244.2.50:8080');
    expect(ok.mark).toBe(0x4000);
    const other = pkt('203.0.113.200', '1.2.3.4', 80);
    const nat = walkChain(rs, 'nat', 'PREROUTING', other, ctx());
    expect(nat.nat).toBeNull();
    // The last rule it matched is the FW chain's rule without a target: it counts and the walk goes on.
    const last = nat.matched[nat.matchedCount - 1];
    expect([last.chain, last.target.kind]).toEqual([expect.stringMatching(/^KUBE-FW-/), 'NONE']);
    for (const hook of ['FORWARD', 'INPUT']) {
      const f = walkChain(rs, 'filter', hook, other, ctx());
      expect([f.verdict, f.by?.chain], hook).toEqual(['DROP', 'KUBE-PROXY-FIREWALL']);
    }
    // Established packets do not reach the firewall (it is jumped to for ctstate NEW only).
    expect(walkChain(rs, 'filter', 'FORWARD', { ...other, ctstate: CT_ESTABLISHED }, ctx()).verdict).toBe('ACCEPT');
    // NodePorts are not subject to the source ranges (kube-proxy: "and we can't change that").
    expect(dnat(rs, pkt('203.0.113.200', '10.0.1.5', 30012, { dstIsLocal: true }), ctx())).toBe('10.244.2.50:8080');
  });

  test('loadBalancerSourceRanges holding the node: the node reaches its LB IP from the VIP itself (allowFromNode)', () => {
    const fromVip = pkt('1.2.3.4', '1.2.3.4', 80);
    expect(dnat(renderNodeRules(S.withExtra(S.lbFirewall('198.51.100.0/24')), 'node-1'), fromVip, ctx())).toBeNull();
    expect(dnat(renderNodeRules(S.withExtra(S.lbFirewall()), 'node-1'), { ...fromVip }, ctx())).toBe('10.244.2.50:8080');
  });

  test('externalIPs: DNAT through the EXT chain, with masquerade (Cluster policy), from any source', () => {
    const rs = renderNodeRules(S.withExtra(S.lbFirewall()), 'node-3');
    const p = pkt('203.0.113.200', '192.168.99.11', 80);
    expect(dnat(rs, p, ctx())).toBe('10.244.2.50:8080');
    expect(p.mark).toBe(0x4000);
    expect(dnat(rs, pkt('203.0.113.200', '192.168.99.11', 81), ctx())).toBeNull();
  });

  test('healthCheckNodePort: filter INPUT accepts it on every node (with or without a local endpoint), TCP only', () => {
    const c = S.withExtra(S.lbLocal(32000));
    expect(c.services.find((s) => s.name === 'hc')!.healthCheckNodePort).toBe(32000);
    for (const node of ['node-1', 'node-2']) {
      const rs = renderNodeRules(c, node);
      const w = walkChain(rs, 'filter', 'INPUT', pkt('203.0.113.9', '10.0.1.5', 32000, { dstIsLocal: true }), ctx());
      expect([w.verdict, w.by?.chain, w.by?.matches[0]], node).toEqual(['ACCEPT', 'KUBE-NODEPORTS', { kind: 'comment', comment: 'default/hc:http health check node port' }]);
      expect(walkChain(rs, 'filter', 'INPUT', pkt('203.0.113.9', '10.0.1.5', 32000, { proto: 'udp' }), ctx()).by, node).toBeNull();
    }
  });

  test('healthCheckNodePort: allocated after the node ports when not written; refused where the apiserver refuses it', () => {
    const c = S.withExtra(S.lbLocal());
    const hc = c.services.find((s) => s.name === 'hc')!;
    expect(hc.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(c.services.flatMap((s) => s.ports.filter((p) => p.protocol === 'TCP').map((p) => p.nodePort))).not.toContain(hc.healthCheckNodePort);
    expect(() => S.withExtra(S.lbLocal(32000).replace('externalTrafficPolicy: Local', 'externalTrafficPolicy: Cluster'))).toThrow(/only a LoadBalancer Service with externalTrafficPolicy Local has one/);
    expect(() => S.withExtra(S.lbLocal(30013))).toThrow(/expected a unique node port, got 30013\/TCP/);
    expect(c.services.filter((s) => s.name !== 'hc').every((s) => s.healthCheckNodePort === 0)).toBe(true);
  });

  test('rulesCommand prints one node, all nodes, or a typed refusal', () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), errIsTty: false };
    expect(rulesCommand(S.defaultCluster(), { table: 'nat' }, io)).toBe(0);
    expect(out.join('')).toContain('*nat\n');
    expect(out.join('')).not.toContain('*filter');
    out.length = 0;
    expect(rulesCommand(S.defaultCluster(), { node: 'all' }, io)).toBe(0);
    expect(out.join('').match(/^# node /gm)).toHaveLength(3);
    expect(rulesCommand(S.defaultCluster(), { node: 'nope' }, io)).toBe(2);
    expect(err.join('')).toContain('no node nope');
  });
});
