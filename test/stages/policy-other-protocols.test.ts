import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropReasonInfo } from '../../src/engine/drop-reasons.js';
import { buildFrame } from '../../src/packet/build.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { ENGINES, Harness, type EngineFactory } from '../helpers/dataplane-harness.js';
import { HOST_VETH_MAC } from '../helpers/frames.js';
import { formatCtList } from '../../src/ebpf/format.js';

/**
 * IP protocols without ports (GRE 47, ESP 50, IGMP 2) under network policy. Calico's chains decide them like any
 * other flow: default deny drops them and only a rule without ports allows them. Cilium's bpf_lxc cannot track
 * them (its conntrack knows TCP, UDP, ICMP, and SCTP only with enable-sctp) and drops them at every pod endpoint with
 * CT_UNKNOWN_L4_PROTOCOL, policy or not. Before, both engines let them through a default-deny policy undecided.
 */
const GRE = 47;
const ESP = 50;
const SCTP = 132;

function scenario(mode: 'iptables' | 'ebpf', extra = ''): string {
  const base = readFileSync(defaultScenarioPath(), 'utf8').replace(/mode: iptables/, `mode: ${mode}`);
  return extra ? `${base}\n---\n${extra}` : base;
}

/** backend pods are default-deny for ingress; pod-a (app=client) may reach them on any protocol (no ports). */
const L3_ONLY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: backend-from-client, namespace: default }
spec:
  podSelector: { matchLabels: { app: backend } }
  ingress:
    - from: [{ podSelector: { matchLabels: { app: client } } }]`;

/** The same pods, but the rule names a port: only TCP 8080 is allowed. */
const PORTS_ONLY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: backend-web, namespace: default }
spec:
  podSelector: { matchLabels: { app: backend } }
  ingress:
    - from: [{ podSelector: { matchLabels: { app: client } } }]
      ports: [{ protocol: TCP, port: 8080 }]`;

function frame(h: Harness, from: string, to: string, protocol: number, reply = false): Uint8Array {
  const src = h.pod(from);
  // A GRE header (no flags, Transparent Ethernet Bridging) or an ESP SPI + sequence: 8 bytes either way.
  const body = protocol === GRE ? [0, 0, 0x65, 0x58, 0, 0, 0, 0] : [0, 0, 0x10, 0x01, 0, 0, 0, 1];
  // SCTP: the common header (ports 40000 -> 8080, or back for a reply; verification tag; checksum not checked).
  const sctp = reply ? [0x1f, 0x90, 0x9c, 0x40, 0, 0, 0, 0, 0, 0, 0, 0] : [0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0];
  return buildFrame([{ type: 'eth', src: src.mac, dst: HOST_VETH_MAC }, { type: 'ipv4', src: src.ip, dst: h.pod(to).ip, protocol }, { type: 'raw', bytes: new Uint8Array(protocol === SCTP ? sctp : body) }]);
}

function verdict(h: Harness, from: string, to: string, protocol: number, reply = false): string {
  const r = h.one(frame(h, from, to, protocol, reply)).results.find((x) => !x.generated)!;
  return r.verdict === 1 ? 'delivered' : dropReasonInfo(r.drop).name;
}

describe.each(ENGINES.map((e) => [e.name, e] as [string, EngineFactory]))('protocols without ports under policy (%s engine)', (_name, engine) => {
  it('iptables mode: no policy passes GRE; a ports-only rule denies it; a rule without ports allows it', () => {
    const none = new Harness({ scenario: scenario('iptables'), engine });
    expect(verdict(none, 'pod-a', 'backend-a', GRE)).toBe('delivered');

    const ports = new Harness({ scenario: scenario('iptables', PORTS_ONLY), engine });
    expect(verdict(ports, 'pod-a', 'backend-a', GRE)).toBe('POLICY_DENIED');
    expect(verdict(ports, 'pod-a', 'backend-a', ESP)).toBe('POLICY_DENIED');

    const l3 = new Harness({ scenario: scenario('iptables', L3_ONLY), engine });
    expect(verdict(l3, 'pod-a', 'backend-a', GRE)).toBe('delivered');
    expect(verdict(l3, 'pod-a', 'backend-a', ESP)).toBe('delivered');
    // The reply is established (conntrack's generic tracker); a peer the rule does not name is denied.
    expect(verdict(l3, 'backend-a', 'pod-a', GRE)).toBe('delivered');
    expect(verdict(l3, 'coredns-0', 'backend-a', GRE)).toBe('POLICY_DENIED');
  });

  it('ebpf mode: bpf_lxc drops every protocol its conntrack cannot track, with or without policy', () => {
    for (const extra of ['', L3_ONLY, PORTS_ONLY]) {
      const h = new Harness({ scenario: scenario('ebpf', extra), engine });
      expect(verdict(h, 'pod-a', 'backend-a', GRE), extra).toBe('CT_UNKNOWN_L4_PROTOCOL');
      expect(verdict(h, 'backend-a', 'pod-a', ESP), extra).toBe('CT_UNKNOWN_L4_PROTOCOL');
      // TCP is unaffected.
      const syn = buildFrame([{ type: 'eth', src: h.pod('pod-a').mac, dst: HOST_VETH_MAC }, { type: 'ipv4', src: h.pod('pod-a').ip, dst: h.pod('backend-a').ip }, { type: 'tcp', srcPort: 40000, dstPort: 8080, flags: 0x02 }]);
      expect(h.one(syn).results[0].verdict, extra).toBe(1);
    }
  });

  it('ebpf mode: SCTP is one of them by default (Cilium\'s enable-sctp is off) and tracked with enable-sctp', () => {
    const off = new Harness({ scenario: scenario('ebpf'), engine });
    expect(verdict(off, 'pod-a', 'backend-a', SCTP)).toBe('CT_UNKNOWN_L4_PROTOCOL');
    const on = scenario('ebpf').replace(/^spec:\n/m, 'spec:\n  ebpf: { enableSctp: true }\n');
    expect(on).toContain('enableSctp: true');
    const h = new Harness({ scenario: on, engine });
    expect(verdict(h, 'pod-a', 'backend-a', SCTP)).toBe('delivered');
    // The reply and the next packet are established: bpf_lxc's records in ct_any4 (native when the engine is).
    expect(verdict(h, 'backend-a', 'pod-a', SCTP, true)).toBe('delivered');
    expect(verdict(h, 'pod-a', 'backend-a', SCTP)).toBe('delivered');
    // bpf_lxc keys SCTP records by ports, as TCP and UDP (ct_extract_ports4 with ENABLE_SCTP): one entry per association.
    const ct = formatCtList(h.dp.contexts.find((c) => c.node.name === h.pod('pod-a').nodeName)!.ebpf!);
    const sctp = ct.filter((l) => l.startsWith('SCTP'));
    expect(sctp.map((l) => l.split(' expires')[0])).toEqual(['SCTP OUT 10.244.1.5:40000 -> 10.244.2.8:8080']);
    expect(sctp[0]).toMatch(/RxPackets=1 .*TxPackets=2 /);
    // iptables mode tracks SCTP whatever the Cilium setting says.
    expect(verdict(new Harness({ scenario: scenario('iptables'), engine }), 'pod-a', 'backend-a', SCTP)).toBe('delivered');
  });
});

describe('traces', () => {
  it('the eBPF drop is traced at the sending endpoint with the protocol number', () => {
    const h = new Harness({ scenario: scenario('ebpf') });
    const out = h.one(frame(h, 'pod-a', 'backend-a', GRE));
    const t = out.traces.find((x) => x.decision === 'drop CT_UNKNOWN_L4_PROTOCOL')!;
    expect(t.stage).toBe('policy4-egress');
    expect(t.detail).toBe('egress of default/pod-a: IP protocol 47');
  });

  it('the iptables denial is explained like any flow: no rule covers other to the peer', () => {
    const h = new Harness({ scenario: scenario('iptables', PORTS_ONLY) });
    const out = h.one(frame(h, 'pod-a', 'backend-a', GRE));
    const lines = out.traces.filter((x) => x.stage === 'policy4-ingress').map((x) => `${x.decision}: ${x.detail}`);
    expect(lines[0]).toBe('drop POLICY_DENIED: ingress of default/backend-a: other from 10.244.1.5');
    expect(lines.some((l) => l.includes('no rule of NetworkPolicy default/backend-web covers other from 10.244.1.5: default deny'))).toBe(true);
  });
});
