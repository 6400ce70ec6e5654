/**
 * A traced policy decision names what decided it (policy/explain.ts): the policies selecting the endpoint, the
 * source rule covering the flow, and the model's evidence (the matched chain rules, or the policy map entries).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/scenario/index.js';
import { runCli } from '../helpers/cli.js';

const LAB = join(packageRoot(), 'pcaps/scenarios/course-lab.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'dpemu-explain-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The course lab in kube-proxy ebpf mode, plus a CiliumNetworkPolicy denying the client on 9090. */
function ebpfLab(): string {
  const f = join(tmp, 'lab-ebpf.yaml');
  const lab = readFileSync(LAB, 'utf8').replace('metadata: {name: lab}\nspec:\n', 'metadata: {name: lab}\nspec:\n  kubeProxy: {mode: ebpf}\n');
  writeFileSync(f, `${lab}---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-deny-9090}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "9090", protocol: TCP}]}]}]
`);
  return f;
}

const because = (out: string, stage: string): string[] =>
  out.split('\n').filter((l) => l.includes(stage) && l.includes('because: ')).map((l) => l.slice(l.indexOf('because: ') + 9));

describe('policy decisions in traces name the rule or map entry behind them', () => {
  it('iptables model: the NetworkPolicy rule and the chain rules that matched', async () => {
    const r = await runCli(['walk', '--scenario', LAB, '--from', 'client', '--to', 'web']);
    expect(r.code).toBe(0);
    const ing = because(r.out, 'policy4-ingress');
    expect(ing[0]).toMatch(/^ingress of default\/web-\S+ is enforced, selected by NetworkPolicy default\/web-from-client$/);
    expect(ing[1]).toMatch(/^rules covering tcp\/8080 from 10\.244\.1\.\d+: allow by NetworkPolicy default\/web-from-client spec\.ingress\[0\]$/);
    expect(ing).toContainEqual(expect.stringMatching(/^iptables: -A cali-pi-\S+ -s 10\.244\.1\.\d+\/32 -p tcp -m tcp --dport 8080 -m comment --comment "NetworkPolicy default\/web-from-client spec\.ingress\[0\]" -j MARK/));
    expect(ing[ing.length - 1]).toMatch(/^iptables: -A cali-tw-\S+ -m mark --mark 0x10000\/0x10000 -j ACCEPT$/);
    expect(because(r.out, 'policy4-egress')).toEqual([expect.stringMatching(/^no policy selects default\/client-\S+ for egress: not enforced, every flow passes$/)]);
  });

  it('the covering rule is found as the models expand ports: an egress named port, and ANY without ICMP', async () => {
    const withPolicy = (name: string, policy: string, mode: string): string => {
      const file = join(tmp, `${name}-${mode}.yaml`);
      const lab = readFileSync(LAB, 'utf8');
      writeFileSync(file, `${mode === 'ebpf' ? lab.replace('metadata: {name: lab}\nspec:\n', 'metadata: {name: lab}\nspec:\n  kubeProxy: {mode: ebpf}\n') : lab}---\n${policy}`);
      return file;
    };
    const namedEgress = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress: [{ports: [{port: http}]}]
`;
    const anyPort = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-any}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "0", protocol: ANY}]}]}]
`;
    for (const mode of ['iptables', 'ebpf']) {
      // The egress named port "http" is web's 8080: the rule covers it, and both models allow it.
      const tcp = await runCli(['walk', '--scenario', withPolicy('named', namedEgress, mode), '--from', 'client', '--to', 'web-55869b7ff4-5r44q:8080']);
      expect(tcp.out, mode).toMatch(/FORWARDED/);
      expect(because(tcp.out, 'policy4-egress')[1], mode).toMatch(/^rules covering tcp\/8080 to 10\.244\.2\.\d+.*: allow by NetworkPolicy default\/client-out spec\.egress\[0\]/);
      // ANY means TCP, UDP and SCTP: an echo request is covered by no rule, and both models drop it.
      const icmp = await runCli(['walk', '--scenario', withPolicy('any', anyPort, mode), '--from', 'client', '--to', 'web-55869b7ff4-5r44q', '--proto', 'icmp']);
      expect(icmp.out, mode).toMatch(/DROPPED POLICY_DENIED at node-2 policy4-ingress/);
      expect(because(icmp.out, 'policy4-ingress')[1], mode).toMatch(/^no rule of .*CiliumNetworkPolicy default\/web-any covers icmp from/);
    }
  });

  it('eBPF model: the deny rule and its policy map entry; a peer no rule covers is default deny', async () => {
    const f = ebpfLab();
    const denied = await runCli(['walk', '--scenario', f, '--from', 'client', '--to', 'web-55869b7ff4-5r44q:9090']);
    expect(denied.out).toMatch(/DROPPED POLICY_DENY at node-2 policy4-ingress/);
    const d = because(denied.out, 'policy4-ingress');
    expect(d[1]).toMatch(/^rules covering tcp\/9090 from 10\.244\.1\.\d+ \(identity \d+ \[k8s:app=client [^\]]*\]\): deny by CiliumNetworkPolicy default\/web-deny-9090 spec\.ingressDeny\[0\]/);
    expect(d[2]).toMatch(/^policy map: \{identity \d+, ingress, 9090\/TCP, prefix 24\} -> deny$/);
    const stranger = await runCli(['walk', '--scenario', f, '--from', 'web', '--to', 'web-55869b7ff4-vjqfc:8080']);
    const s = because(stranger.out, 'policy4-ingress');
    expect(stranger.out).toMatch(/DROPPED POLICY_DENIED/);
    expect(s[1]).toMatch(/^no rule of NetworkPolicy default\/web-from-client, CiliumNetworkPolicy default\/web-deny-9090 covers tcp\/8080 from .*: default deny$/);
    expect(s.slice(2)).toEqual([expect.stringMatching(/^policy map: no entry for identity \d+ ingress tcp\/8080$/), 'policy map: no entry for identity 0 ingress tcp/8080']);
  });
});
