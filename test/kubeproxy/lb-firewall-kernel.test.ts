/**
 * loadBalancerSourceRanges and externalIPs against the kernel: dpemu's node-1 rules are restored into a network
 * namespace standing for node-1, a client namespace connects to the LB IP and the external IP from a source inside
 * and one outside the ranges, and `iptables-save -c` says which rule took each SYN. dpemu, given the same frames at
 * node-1's NIC, must decide each by the same rule: DNAT through KUBE-FW-/KUBE-EXT-, or DROP in KUBE-PROXY-FIREWALL.
 * The LB IP is on node-1's subnet (as MetalLB's L2 mode hands them out), so an unDNATed SYN is forwarded and meets
 * the FORWARD hook's firewall, in the kernel and in dpemu.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropReasonInfo } from '../../src/engine/drop-reasons.js';
import { renderIptablesSave, renderNodeRules } from '../../src/kubeproxy/index.js';
import { buildFrame } from '../../src/packet/build.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { ENGINES, Harness, loadCluster } from '../helpers/dataplane-harness.js';
import { findBinary } from './kernel.js';
import * as S from './scenarios.js';

const LB_IP = '10.0.1.100';
const EXTRA = S.lbFirewall('198.51.100.0/24').replace('ip: 1.2.3.4', `ip: ${LB_IP}`);
const SCENARIO = `${readFileSync(defaultScenarioPath(), 'utf8')}\n${EXTRA}`;
const CASES = [
  { src: '203.0.113.9', dst: LB_IP, want: 'DNAT' },
  { src: '203.0.113.200', dst: LB_IP, want: 'KUBE-PROXY-FIREWALL' },
  { src: '203.0.113.200', dst: '192.168.99.11', want: 'DNAT' },
] as const;

const ip = findBinary('ip');
const tag = `${process.pid % 100000}`;
const NODE = `dpemu-fw-n${tag}`;
const CLIENT = `dpemu-fw-c${tag}`;
const inNs = (ns: string, ...args: string[]): string => execFileSync(ip, ['netns', 'exec', ns, ...args], { encoding: 'utf8' });

/** Per rule (its iptables-save line without the counter), the packets it matched. */
function counters(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of ['filter', 'nat']) {
    for (const l of inNs(NODE, findBinary('iptables-save'), '-c', '-t', t).split('\n')) {
      const m = /^\[(\d+):\d+\] (-A .*)$/.exec(l);
      if (m) out.set(m[2], Number(m[1]));
    }
  }
  return out;
}

/** What took the SYN sent from `src` to `dst`:80: the KUBE-SEP DNAT rule or the KUBE-PROXY-FIREWALL DROP (by counters). */
function kernelDecision(src: string, dst: string): string[] {
  const before = counters();
  // One SYN: the socket is closed before the 1 s retransmission.
  const js = `const s=require('net').connect({host:'${dst}',port:80,localAddress:'${src}'});s.on('error',()=>{});setTimeout(()=>{s.destroy();},300);`;
  inNs(CLIENT, process.execPath, '-e', js);
  const after = counters();
  const hit: string[] = [];
  for (const [rule, n] of after) {
    if (n === (before.get(rule) ?? 0)) continue;
    if (rule.includes('-j DNAT')) hit.push('DNAT');
    if (rule.startsWith('-A KUBE-PROXY-FIREWALL') && rule.endsWith('-j DROP')) hit.push('KUBE-PROXY-FIREWALL');
  }
  return hit;
}

beforeAll(() => {
  const tables = renderIptablesSave(renderNodeRules(loadCluster(SCENARIO), 'node-1'));
  execFileSync(ip, ['netns', 'add', NODE]);
  execFileSync(ip, ['netns', 'add', CLIENT]);
  execFileSync(ip, ['link', 'add', 'fwn', 'netns', NODE, 'type', 'veth', 'peer', 'name', 'fwc', 'netns', CLIENT]);
  inNs(NODE, ip, 'addr', 'add', '10.0.1.5/24', 'dev', 'fwn');
  inNs(NODE, ip, 'link', 'set', 'fwn', 'up');
  inNs(NODE, ip, 'link', 'set', 'lo', 'up');
  inNs(NODE, ip, 'route', 'add', '203.0.113.0/24', 'via', '10.0.1.50');
  inNs(NODE, findBinary('sysctl'), '-qw', 'net.ipv4.ip_forward=1');
  inNs(CLIENT, ip, 'addr', 'add', '10.0.1.50/24', 'dev', 'fwc');
  for (const a of ['203.0.113.9/32', '203.0.113.200/32']) inNs(CLIENT, ip, 'addr', 'add', a, 'dev', 'fwc');
  inNs(CLIENT, ip, 'link', 'set', 'fwc', 'up');
  inNs(CLIENT, ip, 'link', 'set', 'lo', 'up');
  for (const d of [`${LB_IP}/32`, '192.168.99.11/32']) inNs(CLIENT, ip, 'route', 'add', d, 'via', '10.0.1.5');
  const r = spawnSync(ip, ['netns', 'exec', NODE, findBinary('iptables-restore')], { input: tables, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`iptables-restore failed: ${r.stderr}`);
});

afterAll(() => {
  spawnSync(ip, ['netns', 'del', CLIENT]);
  spawnSync(ip, ['netns', 'del', NODE]);
});

describe('LoadBalancer firewall and external IPs: dpemu decides each SYN by the rule the kernel used', () => {
  it('the kernel: DNAT from inside the range and to the external IP, KUBE-PROXY-FIREWALL DROP from outside', () => {
    expect(CASES.map((c) => kernelDecision(c.src, c.dst))).toEqual(CASES.map((c) => [c.want]));
  });

  for (const engine of ENGINES) {
    it(`dpemu (${engine.name} engine) agrees`, () => {
      const h = new Harness({ scenario: SCENARIO, engine });
      const node = h.node('node-1');
      for (const c of CASES) {
        const f = buildFrame([{ type: 'eth', src: '02:00:0a:00:01:32', dst: node.mac }, { type: 'ipv4', src: c.src, dst: c.dst }, { type: 'tcp', srcPort: 40000, dstPort: 80, flags: 0x02 }]);
        const out = h.one(f, { at: 'node-1' });
        const r = out.results.find((x) => !x.generated)!;
        // Where the engine traces, the drop names the firewall rule.
        if (engine.traces !== false && r.verdict !== 1) expect(out.traces.some((t) => t.decision === 'drop RULE_DROP' && t.detail.startsWith('-A KUBE-PROXY-FIREWALL'))).toBe(true);
        // DNAT sends it on to the backend on node-2 (delivered); the firewall's DROP is RULE_DROP.
        const got = r.verdict === 1 ? 'DNAT' : dropReasonInfo(r.drop).name === 'RULE_DROP' ? 'KUBE-PROXY-FIREWALL' : dropReasonInfo(r.drop).name;
        expect(got, `${c.src} -> ${c.dst}`).toBe(c.want);
      }
    });
  }
});
