import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFrame, type LayerSpec } from '../../src/packet/build.js';
import { packageRoot } from '../../src/scenario/index.js';
import { loadScenarioText } from '../../src/scenario/index.js';
import { EbpfNodeState, IPPROTO_TCP, IPPROTO_UDP } from '../../src/ebpf/state.js';
import { formatCtList, formatNatList } from '../../src/ebpf/format.js';
import { Harness, checksumsValid, dropName, framesAt, ip, parse, type RunOutput } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';

/**
 * kube-proxy mode ebpf, NodePort from outside the pod network: node-2's own stack connects to
 * node-1:30080 (default/backend-np, backend-b on node-3), as in pcaps/kernel/service frame 3.
 * nodeport4 on node-1 DNATs to backend-b and SNATs to node-1's router address (tunnel mode), the
 * reply is un-SNATed and un-DNATed on node-1 and node-2 sees node-1:30080 as its peer.
 */
const base = readFileSync(join(packageRoot(), 'pcaps/scenarios/service-ebpf.yaml'), 'utf8');
const SYN = 0x02;
const ACK = 0x10;

function scenario(ebpf = ''): string {
  return ebpf ? base.replace(/(\n  kubeProxy:\n)/, `\n  ebpf: {${ebpf}}$1`) : base;
}

function nodeFrame(h: Harness, from: string, to: string, l4: LayerSpec[]): Uint8Array {
  const a = h.node(from);
  const b = h.node(to);
  return buildFrame([{ type: 'eth', src: a.mac, dst: b.mac }, { type: 'ipv4', src: a.ip, dst: b.ip }, ...l4]);
}

const tcp = (srcPort: number, dstPort: number, flags: number): LayerSpec[] => [{ type: 'tcp', srcPort, dstPort, flags }];

/** The innermost IPv4/L4 of a captured frame: [src, sport, dst, dport]. */
function inner(bytes: Uint8Array): [string, number, string, number] {
  const v = parse(bytes);
  const L = v.layers[v.layerCount - 1];
  expect(checksumsValid(bytes, L)).toBe(true);
  const t = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return [t(L.src4), L.srcPort, t(L.dst4), L.dstPort];
}

function received(out: RunOutput, h: Harness, label: string): Array<[string, number, string, number]> {
  return framesAt(out, h, label, 0).map((f) => inner(f.bytes));
}

describe('eBPF NodePort (nodeport4, SNAT mode)', () => {
  it('DNAT + SNAT on node-1, tunnel to node-3, reply un-NATed back to node-2', () => {
    const h = new Harness({ scenario: scenario() });
    const out = h.one(nodeFrame(h, 'node-2', 'node-1', tcp(42000, 30080, SYN)), { t: 0 });
    expect(out.results.map(dropName)).toEqual(['']);
    // backend-b sees node-1's router (cilium_host / VTEP) address with the client's port kept (in 32768-65535).
    expect(received(out, h, 'default/backend-b eth0')).toEqual([['10.244.1.0', 42000, '10.244.3.9', 8080]]);
    // node-1 carried it in VXLAN to node-3 (the ipcache tunnel endpoint of backend-b).
    const vx = framesAt(out, h, 'node-1 eth0', 1).map((f) => parse(f.bytes).layers[0]);
    expect(vx.map((L) => L.dst4)).toEqual([ip('10.0.1.7')]);
    expect(out.traces.some((t) => t.detail.includes('tunnelendpoint 10.0.1.7'))).toBe(true);
    // No iptables/IPVS translation in ebpf mode.
    expect(out.traces.some((t) => t.point === 'conntrack' && /DNAT|MASQUERADE/.test(t.decision))).toBe(false);

    const st = h.dp.contexts[0].ebpf!;
    const ct = formatCtList(st);
    expect(ct.some((l) => /^TCP OUT 10\.0\.1\.6:42000 -> 10\.244\.3\.9:8080 expires=1700000060 .*Flags=0x0020 \[ NodePort \] RevNAT=\d+ SourceSecurityID=2 /.test(l))).toBe(true);
    expect(ct.some((l) => /^TCP OUT 10\.0\.1\.5:30080 -> 10\.0\.1\.6:42000 service expires=1700000060 /.test(l))).toBe(true);
    expect(formatNatList(st)).toEqual([
      'TCP IN 10.244.3.9:8080 -> 10.244.1.0:42000 XLATE_DST 10.0.1.6:42000 Created=1700000000 NeedsCT=0',
      'TCP OUT 10.0.1.6:42000 -> 10.244.3.9:8080 XLATE_SRC 10.244.1.0:42000 Created=1700000000 NeedsCT=0',
    ]);

    const back = h.one(podFrame(h, 'backend-b', '10.244.1.0', tcp(8080, 42000, SYN | ACK)), { t: 1 });
    expect(back.results.map(dropName)).toEqual(['']);
    expect(back.traces.some((t) => t.decision.startsWith('rev-SNAT 10.244.1.0:42000 -> 10.0.1.6:42000'))).toBe(true);
    expect(received(back, h, 'node-2 eth0')).toEqual([['10.0.1.5', 30080, '10.0.1.6', 42000]]);
    // The reply counted on the NodePort entry, now established (SYN-ACK seen): the TCP lifetime.
    expect(formatCtList(st).some((l) => /^TCP OUT 10\.0\.1\.6:42000 -> 10\.244\.3\.9:8080 expires=1700021601 RxPackets=1 .*\[ SeenNonSyn NodePort \]/.test(l))).toBe(true);

    // The next client packet keeps the backend through the service entry (no new LB decision).
    const ack = h.one(nodeFrame(h, 'node-2', 'node-1', tcp(42000, 30080, ACK)), { t: 2 });
    expect(received(ack, h, 'default/backend-b eth0')).toEqual([['10.244.1.0', 42000, '10.244.3.9', 8080]]);
    expect(ack.traces.some((t) => t.detail.includes('ct service entry: backend_id'))).toBe(true);
  });

  it('a NodePort without endpoints drops SERVICE_BACKEND_NOT_FOUND', () => {
    const h = new Harness({ scenario: scenario() });
    const out = h.one(nodeFrame(h, 'node-2', 'node-1', tcp(42001, 30404, SYN)), { t: 0 });
    expect(out.results.map(dropName)).toEqual(['SERVICE_BACKEND_NOT_FOUND']);
    expect(out.results[0].stage).toBe('nodeport4');
    expect(h.drops('node-1').SERVICE_BACKEND_NOT_FOUND).toBe(1);
  });

  it('traffic that is not a NodePort passes unchanged; VXLAN to the tunnel port is not touched', () => {
    const h = new Harness({ scenario: scenario() });
    const out = h.one(nodeFrame(h, 'node-2', 'node-1', tcp(42002, 22, SYN)), { t: 0 });
    expect(out.results[0].stage).not.toBe('nodeport4');
    expect(out.traces.some((t) => t.point === 'nodeport')).toBe(false);
    const st = h.dp.contexts[0].ebpf!;
    expect(st.snat.count + st.ct.count).toBe(0);
  });

  it('configured timeouts override Cilium\'s defaults', () => {
    const h = new Harness({ scenario: scenario('ctTimeoutRegularTcpSyn: 7, ctTimeoutRegularTcp: 1000, ctTimeoutRegularAny: 9') });
    const st = h.dp.contexts[0].ebpf!;
    expect(st.config.ctTimeoutRegularTcpSyn).toBe(7);
    h.one(nodeFrame(h, 'node-2', 'node-1', tcp(42000, 30080, SYN)), { t: 0 });
    expect(formatCtList(st).some((l) => l.startsWith('TCP OUT 10.0.1.6:42000 -> 10.244.3.9:8080 expires=1700000007 '))).toBe(true);
    h.one(podFrame(h, 'backend-b', '10.244.1.0', tcp(8080, 42000, SYN | ACK)), { t: 1 });
    expect(formatCtList(st).some((l) => l.startsWith('TCP OUT 10.0.1.6:42000 -> 10.244.3.9:8080 expires=1700001001 '))).toBe(true);
    const off = st.ctRecord('out', IPPROTO_UDP, ip('10.244.1.5'), 5000, ip('10.244.3.9'), 53, false, 100);
    expect(off).toBeGreaterThanOrEqual(0);
    expect(st.ctAny.count).toBe(1);
    expect(formatCtList(st).some((l) => l.startsWith('UDP OUT 10.244.1.5:5000 -> 10.244.3.9:53 expires=109 '))).toBe(true);
  });

  it('defaults are Cilium\'s: 21600/60/60/10 s, 524288 TCP and 262144 other entries, enable-sctp off', () => {
    const r = loadScenarioText(scenario(), 'x.yaml');
    if (!r.ok) throw r.error;
    expect(r.cluster.ebpf).toEqual({ ctGlobalTcpMax: 524288, ctGlobalAnyMax: 262144, ctTimeoutRegularTcp: 21600, ctTimeoutRegularTcpSyn: 60, ctTimeoutRegularTcpFin: 10, ctTimeoutRegularAny: 60, natGlobalMax: 524288, enableSctp: false });
    const st = new EbpfNodeState(r.cluster, r.cluster.nodes[0]);
    expect([st.ct.maxEntries, st.ctAny.maxEntries]).toEqual([524288, 262144]);
    const bad = loadScenarioText(scenario('ctGlobalTcpMax: 10'), 'x.yaml');
    expect(bad.ok).toBe(false);
  });

  it('a full ct map evicts its least recently used entry (LRU) and counts it', () => {
    const r = loadScenarioText(scenario('ctGlobalTcpMax: 1024'), 'x.yaml');
    if (!r.ok) throw r.error;
    const st = new EbpfNodeState(r.cluster, r.cluster.nodes[0]);
    expect(st.ct.maxEntries).toBe(1024);
    for (let i = 0; i < 1100; i++) st.ctRecord('out', IPPROTO_TCP, ip('10.0.1.6'), 1000 + i, ip('10.244.3.9'), 8080, false, i, { tcpFlags: SYN });
    expect(st.ct.count).toBe(1024);
    expect(st.ct.stats().evicted).toBe(1100 - 1024);
    expect(st.ctAny.count).toBe(0);
  });
});
