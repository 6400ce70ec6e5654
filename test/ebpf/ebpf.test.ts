import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EbpfNodeState, SOCK_CONNECTED, SOCK_NEW, SOCK_NO_BACKEND, SOCK_NOT_SERVICE, SockLbResult, ipText } from '../../src/ebpf/state.js';
import { formatCtList, formatLbList } from '../../src/ebpf/format.js';
import { lb4KeyV1, lb4ServiceV1, ipcacheKeyV1, remoteEndpointInfoV1, lb4RevNatKeyV1, lb4ReverseNatV1 } from '../../src/maps/cilium-layouts.js';
import { loadScenarioFile, loadScenarioText, packageRoot } from '../../src/scenario/index.js';
import { CaptureFileReader } from '../../src/capture/index.js';
import type { Cluster } from '../../src/scenario/model.js';
import { Harness, dropName, framesAt, ip, parse } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';
import { runCli } from '../helpers/cli.js';

const ebpfYaml = readFileSync(join(packageRoot(), 'pcaps/scenarios/ebpf.yaml'), 'utf8');

/** The eBPF scenario plus extra documents (appended YAML). */
function scenario(extra = ''): string {
  return ebpfYaml + extra;
}
function cluster(extra = ''): Cluster {
  const r = loadScenarioText(scenario(extra), 'ebpf.yaml');
  if (!r.ok) throw r.error;
  return r.cluster;
}

const affinitySvc = `
---
apiVersion: v1
kind: Service
metadata: { name: sticky, namespace: default }
spec:
  clusterIP: 10.96.5.40
  selector: { app: backend }
  sessionAffinity: ClientIP
  sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } }
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
---
apiVersion: v1
kind: Service
metadata: { name: empty, namespace: default }
spec:
  clusterIP: 10.96.4.4
  selector: { app: nothing-here }
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
`;

const TCP = 6;
const UDP = 17;
const tcpSyn = (sport: number, dport: number) => [{ type: 'tcp' as const, srcPort: sport, dstPort: dport, flags: 0x02 }];
const tcpAck = (sport: number, dport: number) => [{ type: 'tcp' as const, srcPort: sport, dstPort: dport, flags: 0x10 }];

function svcValue(st: EbpfNodeState, addr: string, dport: number, proto: number, slot: number) {
  const off = st.services.lookup(lb4KeyV1.encode({ address: ip(addr), dport, proto, backend_slot: slot }));
  return off < 0 ? null : lb4ServiceV1.decode(st.services.bytes, off);
}

describe('eBPF node maps', () => {
  const c = cluster();
  const st = new EbpfNodeState(c, c.nodes[0]);

  it('lb4_services: slot 0 holds the backend count and rev NAT, slots 1..n the backend ids (Cilium layout)', () => {
    expect(svcValue(st, '10.96.5.20', 80, TCP, 0)).toMatchObject({ count: 2, rev_nat_index: 1, backend_id: 0 });
    const s1 = svcValue(st, '10.96.5.20', 80, TCP, 1)!;
    const s2 = svcValue(st, '10.96.5.20', 80, TCP, 2)!;
    expect([s1.rev_nat_index, s2.rev_nat_index]).toEqual([1, 1]);
    expect(svcValue(st, '10.96.5.20', 80, TCP, 3)).toBeNull();
    const be = (id: number) => st.backendList.find((b) => b.id === id)!;
    expect(`${ipText(be(s1.backend_id).address)}:${be(s1.backend_id).port}`).toBe('10.244.2.8:8080');
    expect(`${ipText(be(s2.backend_id).address)}:${be(s2.backend_id).port}`).toBe('10.244.3.9:8080');
    // kube-dns: one frontend per protocol on the same address and port, each with its rev NAT index.
    expect(svcValue(st, '10.96.0.10', 53, UDP, 0)).toMatchObject({ count: 1, rev_nat_index: 2 });
    expect(svcValue(st, '10.96.0.10', 53, TCP, 0)).toMatchObject({ count: 1, rev_nat_index: 3 });
    const rn = st.revNat.lookup(lb4RevNatKeyV1.encode({ rev_nat_index: 1 }));
    expect(lb4ReverseNatV1.decode(st.revNat.bytes, rn)).toEqual({ address: ip('10.96.5.20'), port: 80 });
    expect(st.services.count).toBe(3 + 2 + 2);
    expect(st.backends.count).toBe(4);
  });

  it('NodePort frontends only on the node\'s own address; LoadBalancer IPs are frontends', () => {
    const cc = cluster(`
---
apiVersion: v1
kind: Service
metadata: { name: np, namespace: default }
spec:
  type: LoadBalancer
  clusterIP: 10.96.5.30
  selector: { app: backend }
  ports: [{ name: http, port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP }]
status: { loadBalancer: { ingress: [{ ip: 192.0.2.10 }] } }
`);
    const s2 = new EbpfNodeState(cc, cc.nodes[1]);
    expect(svcValue(s2, '10.0.1.6', 30080, TCP, 0)).toMatchObject({ count: 2 });
    expect(svcValue(s2, '10.0.1.5', 30080, TCP, 0)).toBeNull();
    expect(cc.services.find((s) => s.name === 'np')!.loadBalancerIps).toEqual(['192.0.2.10']);
    expect(svcValue(s2, '192.0.2.10', 80, TCP, 0)).toMatchObject({ count: 2 });
  });

  it('ipcache: pods -> identity with the hosting node as tunnel endpoint when remote, nodes host/remote-node, world', () => {
    const get = (a: string, len = 32) => {
      const off = st.ipcache.lookup(ipcacheKeyV1.encode({ prefixlen: len, addr: ip(a) }));
      return remoteEndpointInfoV1.decode(st.ipcache.bytes, off);
    };
    // Identities from 256 in the sorted order of label sets: app=backend (256), app=client (257), k8s-app=kube-dns (258).
    expect(get('10.244.1.5')).toMatchObject({ sec_identity: 257, tunnel_endpoint: 0 });
    expect(get('10.244.2.8')).toMatchObject({ sec_identity: 256, tunnel_endpoint: ip('10.0.1.6') });
    expect(get('10.244.3.9')).toMatchObject({ sec_identity: 256, tunnel_endpoint: ip('10.0.1.7') });
    expect(get('10.244.2.15')).toMatchObject({ sec_identity: 258, tunnel_endpoint: ip('10.0.1.6') });
    expect(get('10.0.1.5').sec_identity).toBe(1);
    expect(get('10.0.1.6').sec_identity).toBe(6);
    expect(get('8.8.8.8').sec_identity).toBe(2);
  });
});

describe('socket LB (connect/sendmsg)', () => {
  it('translates the first packet, reuses the connected backend for later packets, and never touches non-services', () => {
    const c = cluster();
    const st = new EbpfNodeState(c, c.nodes[0]);
    const r = new SockLbResult();
    expect(st.connect(ip('10.244.1.5'), 40000, ip('10.96.5.20'), 80, TCP, 100, r)).toBe(SOCK_NEW);
    const first = { addr: r.backendAddr, port: r.backendPort, id: r.backendId };
    expect(r.revNat).toBe(1);
    expect(r.backendPort).toBe(8080);
    for (let i = 0; i < 20; i++) {
      expect(st.connect(ip('10.244.1.5'), 40000, ip('10.96.5.20'), 80, TCP, 101 + i, r)).toBe(SOCK_CONNECTED);
      expect({ addr: r.backendAddr, port: r.backendPort, id: r.backendId }).toEqual(first);
    }
    expect(st.reverseLookup(ip('10.244.1.5'), 40000, first.addr, 8080, TCP)).toBeGreaterThanOrEqual(0);
    expect(st.connect(ip('10.244.1.5'), 40001, ip('10.244.2.8'), 8080, TCP, 100, r)).toBe(SOCK_NOT_SERVICE);
    // No conntrack entry for the translation.
    expect(st.ct.count).toBe(0);
  });

  it('random choice is deterministic by seed and spreads over the backends', () => {
    const picks = (seed: number) => {
      const c = { ...cluster(), seed };
      const st = new EbpfNodeState(c, c.nodes[0]);
      const r = new SockLbResult();
      return Array.from({ length: 40 }, (_, i) => (st.connect(ip('10.244.1.5'), 41000 + i, ip('10.96.5.20'), 80, TCP, 1, r), r.backendId));
    };
    expect(picks(7)).toEqual(picks(7));
    expect(picks(7)).not.toEqual(picks(8));
    expect(new Set(picks(7)).size).toBe(2);
  });

  it('maglev choice is consistent per flow (same tuple, same backend across nodes and fresh state)', () => {
    const c = cluster();
    const a = new EbpfNodeState(c, c.nodes[0], { lbAlgorithm: 'maglev', maglevTableSize: 251 });
    const b = new EbpfNodeState(c, c.nodes[2], { lbAlgorithm: 'maglev', maglevTableSize: 251 });
    const ra = new SockLbResult();
    const rb = new SockLbResult();
    const seen = new Set<number>();
    for (let p = 42000; p < 42050; p++) {
      a.connect(ip('10.244.1.5'), p, ip('10.96.5.20'), 80, TCP, 1, ra);
      b.connect(ip('10.244.1.5'), p, ip('10.96.5.20'), 80, TCP, 1, rb);
      expect(ra.backendId).toBe(rb.backendId);
      expect(ra.via).toBe(2);
      const t = a.maglevTables.get(1)!;
      expect(t.length).toBe(251);
      seen.add(ra.backendId);
    }
    expect(seen.size).toBe(2);
  });

  it('session affinity (ClientIP) sticks within the timeout and expires after it', () => {
    const c = cluster(affinitySvc);
    const st = new EbpfNodeState(c, c.nodes[0]);
    const r = new SockLbResult();
    const fe = st.frontends.find((f) => f.service.name === 'sticky')!;
    expect(svcValue(st, '10.96.5.40', 80, TCP, 0)).toMatchObject({ backend_id: 30, count: 2 });
    st.connect(ip('10.244.1.5'), 43000, ip('10.96.5.40'), 80, TCP, 1000, r);
    const first = r.backendId;
    expect(r.revNat).toBe(fe.revNat);
    // New sockets within 30 s of the last use: same backend, chosen by affinity.
    let t = 1000;
    for (let i = 1; i <= 10; i++) {
      t += 20;
      st.connect(ip('10.244.1.5'), 43000 + i, ip('10.96.5.40'), 80, TCP, t, r);
      expect(r.backendId).toBe(first);
      expect(r.via).toBe(1);
    }
    // After the timeout the entry is expired: a fresh choice (not by affinity).
    let fresh = 0;
    for (let i = 0; i < 20; i++) {
      t += 31;
      st.connect(ip('10.244.1.5'), 44000 + i, ip('10.96.5.40'), 80, TCP, t, r);
      if (r.via !== 1) fresh++;
    }
    expect(fresh).toBe(20);
  });

  it('a frontend without backends: SERVICE_BACKEND_NOT_FOUND', () => {
    const c = cluster(affinitySvc);
    const st = new EbpfNodeState(c, c.nodes[0]);
    expect(svcValue(st, '10.96.4.4', 80, TCP, 0)).toMatchObject({ count: 0 });
    expect(st.connect(ip('10.244.1.5'), 45000, ip('10.96.4.4'), 80, TCP, 1, new SockLbResult())).toBe(SOCK_NO_BACKEND);
  });
});

describe('sock4-connect in the pipeline', () => {
  it('the pod\'s eth0 already shows the backend; no DNAT on the node; the reply is reverse-translated at recvmsg in the trace', () => {
    const h = new Harness({ scenario: scenario(affinitySvc) });
    const out = h.one(podFrame(h, 'pod-a', '10.96.5.20', tcpSyn(46000, 80)), { t: 1 });
    expect(out.results[0].verdict).toBe(1);
    const sent = framesAt(out, h, 'default/pod-a eth0', 1)[0];
    const L = parse(sent.bytes).layers[0];
    const backend = ipText(L.dst4 >>> 0);
    expect(['10.244.2.8', '10.244.3.9']).toContain(backend);
    const tr = out.traces.find((x) => x.stage === 'sock4-connect')!;
    expect(tr.decision).toBe(`connect() to 10.96.5.20:80 -> ${backend}:8080`);
    expect(tr.detail).toMatch(/lb4_services slot [12], backend_id [12], rev_nat 1/);
    // No NAT anywhere after the socket: the conntrack entry on node-1 is plain (no DNAT, as Cilium's sock LB).
    expect(out.traces.filter((x) => x.stage.startsWith('nf4') && /DNAT/.test(x.detail))).toEqual([]);
    const second = h.one(podFrame(h, 'pod-a', '10.96.5.20', tcpAck(46000, 80)), { t: 1.1 });
    expect(ipText(parse(framesAt(second, h, 'default/pod-a eth0', 1)[0].bytes).layers[0].dst4 >>> 0)).toBe(backend);
    expect(second.traces.find((x) => x.stage === 'sock4-connect')!.detail).toMatch(/no LB decision/);
    // The backend answers from its own address; at delivery to pod-a the socket sees the VIP.
    const backendPod = backend === '10.244.2.8' ? 'backend-a' : 'backend-b';
    const reply = h.one(podFrame(h, backendPod, '10.244.1.5', [{ type: 'tcp', srcPort: 8080, dstPort: 46000, flags: 0x12 }]), { t: 1.2 });
    expect(reply.results[0].verdict).toBe(1);
    const rv = reply.traces.find((x) => x.stage === 'veth-xmit' && x.point === 'sock4')!;
    expect(rv.decision).toBe(`recvmsg() revnat ${backend}:8080 -> 10.96.5.20:80`);
    const delivered = framesAt(reply, h, 'default/pod-a eth0', 0)[0];
    expect(ipText(parse(delivered.bytes).layers[0].src4 >>> 0)).toBe(backend);
  });

  it('no backends: the packet is dropped SERVICE_BACKEND_NOT_FOUND before it reaches the veth', () => {
    const h = new Harness({ scenario: scenario(affinitySvc) });
    const out = h.one(podFrame(h, 'pod-a', '10.96.4.4', tcpSyn(47000, 80)), { t: 1 });
    expect(dropName(out.results[0])).toBe('SERVICE_BACKEND_NOT_FOUND');
    expect(out.frames.length).toBe(0);
  });

  it('iptables mode: the same traffic leaves the pod to the VIP and is DNATed by the node (the difference the trace shows)', () => {
    const h = new Harness({ scenario: scenario().replace('mode: ebpf ', 'mode: iptables ') });
    expect(h.cluster.kubeProxy.mode).toBe('iptables');
    const out = h.one(podFrame(h, 'pod-a', '10.96.5.20', tcpSyn(46000, 80)), { t: 1 });
    expect(ipText(parse(framesAt(out, h, 'default/pod-a eth0', 1)[0].bytes).layers[0].dst4 >>> 0)).toBe('10.96.5.20');
    expect(out.traces.some((x) => x.stage === 'sock4-connect' && x.point === 'sock4')).toBe(false);
  });

  it('UDP to kube-dns: each datagram of the socket goes to the backend', () => {
    const h = new Harness({ scenario: scenario() });
    const out = h.one(podFrame(h, 'pod-a', '10.96.0.10', [{ type: 'udp', srcPort: 5353, dstPort: 53 }]), { t: 1 });
    expect(ipText(parse(framesAt(out, h, 'default/pod-a eth0', 1)[0].bytes).layers[0].dst4 >>> 0)).toBe('10.244.2.15');
  });
});

describe('ct4_global helpers and dumps', () => {
  it('ctRecord counts tx and rx packets of a flow and formats as cilium bpf ct list global', () => {
    const c = cluster();
    const st = new EbpfNodeState(c, c.nodes[0]);
    st.ctRecord('out', TCP, ip('10.244.1.5'), 52345, ip('10.244.2.8'), 8080, false, 1000, { bytes: 74, tcpFlags: 0x02, srcSecId: 257 });
    st.ctRecord('out', TCP, ip('10.244.2.8'), 8080, ip('10.244.1.5'), 52345, true, 1000, { bytes: 74, tcpFlags: 0x12 });
    st.ctRecord('out', TCP, ip('10.244.1.5'), 52345, ip('10.244.2.8'), 8080, false, 1001, { bytes: 66, tcpFlags: 0x10 });
    expect(formatCtList(st)).toEqual([
      'TCP OUT 10.244.1.5:52345 -> 10.244.2.8:8080 expires=22601 RxPackets=1 RxBytes=74 RxFlagsSeen=0x12 LastRxReport=1000 TxPackets=2 TxBytes=140 TxFlagsSeen=0x12 LastTxReport=1001 Flags=0x0010 [ SeenNonSyn ] RevNAT=0 SourceSecurityID=257 IfIndex=0 ',
    ]);
  });

  it('lb list has Cilium\'s columns', () => {
    const c = cluster();
    const lines = formatLbList(new EbpfNodeState(c, c.nodes[0]));
    expect(lines[0]).toMatch(/^SERVICE ADDRESS\s+BACKEND ADDRESS \(REVNAT_ID\) \(SLOT\)$/);
    expect(lines).toContain('10.96.5.20:80/TCP (0)   0.0.0.0:0 (1) (0) [ClusterIP, non-routable]');
  });

  it('dpemu maps after the Service walk: every section, with figures derived from the capture and the scenario', async () => {
    // The kernel test bed's Service walk (each pod's sent frames, entering at its eth0) under the eBPF scenario
    // that pins backend-a, as the kernel run did: the socket LB picks the backend the replies come from.
    const scenarioPath = join(packageRoot(), 'pcaps/scenarios/service-ebpf.yaml');
    const capture = join(packageRoot(), 'pcaps/kernel/service/walk.pcapng');
    const r = await runCli(['maps', '--scenario', scenarioPath, capture]);
    expect(r.code, r.err).toBe(0);
    const res = loadScenarioFile(scenarioPath);
    if (!res.ok) throw res.error;
    const c = res.cluster;
    const podA = c.pods.find((p) => p.name === 'pod-a')!;
    const backendA = c.pods.find((p) => p.name === 'backend-a')!;
    const section = (node: string, what: string): string[] => {
      const parts = r.out.split(/^# /m);
      const part = parts.find((x) => x.startsWith(`node ${node}: ${what}`));
      expect(part, `${node} ${what}`).toBeDefined();
      return part!.split('\n').slice(1).filter((l) => l.length > 0);
    };
    // The connection pod-a:52345 -> 10.96.5.20:80 as counted from the capture: pod-a's segments are the
    // entry's Tx, backend-a's replies its Rx (packets, IPv4 total lengths, TCP flags ORed).
    const vip = c.services.find((sv) => sv.name === 'backend')!;
    const count = { tx: [0, 0, 0], rx: [0, 0, 0] };
    const reader = CaptureFileReader.open(capture);
    try {
      for (let n = reader.next(); n > 0; n = reader.next()) {
        const b = reader.batch;
        for (let i = 0; i < n; i++) {
          const f = b.buf.subarray(b.offset[i]!, b.offset[i]! + b.caplen[i]!);
          const v = new DataView(f.buffer, f.byteOffset, f.length);
          if (v.getUint16(12) !== 0x0800 || f[23] !== 6) continue;
          const l4 = 14 + (f[14]! & 15) * 4;
          const src = ipText(v.getUint32(26)), dst = ipText(v.getUint32(30));
          const sp = v.getUint16(l4), dp = v.getUint16(l4 + 2);
          const side = src === podA.ip && sp === 52345 && dst === vip.clusterIp ? count.tx : src === backendA.ip && dp === 52345 ? count.rx : null;
          if (!side) continue;
          side[0]++;
          side[1] += v.getUint16(16);
          side[2] |= f[l4 + 13]!;
        }
      }
    } finally {
      reader.close();
    }
    expect(count.tx[0]).toBeGreaterThan(3);
    expect(count.rx[0]).toBeGreaterThan(3);
    const hex2 = (x: number) => `0x${x.toString(16).padStart(2, '0')}`;
    const ct = section('node-1', 'cilium bpf ct list global');
    const conn = ct.find((l) => l.startsWith(`TCP OUT ${podA.ip}:52345 -> ${backendA.ip}:8080 `));
    expect(conn, ct.join('\n')).toBeDefined();
    expect(conn).toContain(`RxPackets=${count.rx[0]} RxBytes=${count.rx[1]} RxFlagsSeen=${hex2(count.rx[2]!)} `);
    expect(conn).toContain(`TxPackets=${count.tx[0]} TxBytes=${count.tx[1]} TxFlagsSeen=${hex2(count.tx[2]!)} `);
    // The source identity is pod-a's, as node-1's ipcache gives it.
    const podAIdentity = /identity=(\d+) /.exec(section('node-1', 'cilium bpf ipcache list').find((l) => l.startsWith(`${podA.ip}/32 `)) ?? '')?.[1];
    expect(podAIdentity).toBeDefined();
    expect(conn).toContain(`SourceSecurityID=${podAIdentity} `);
    // lb list: each ClusterIP service's frontend slot 0, and the pinned backend in slot 1.
    const lb = section('node-1', 'cilium bpf lb list');
    for (const sv of c.services) {
      if (sv.clusterIp === null) continue;
      for (const port of sv.ports) expect(lb.some((l) => l.startsWith(`${sv.clusterIp}:${port.port}/${port.protocol} (0)`)), `${sv.name} ${port.port}`).toBe(true);
    }
    expect(lb.some((l) => l.startsWith(`${vip.clusterIp}:80/TCP (1)`) && l.includes(`${backendA.ip}:8080/TCP`))).toBe(true);
    // ipcache on every node: each pod's address, with the tunnel endpoint of its node (none when local).
    for (const node of c.nodes) {
      const ipc = section(node.name, 'cilium bpf ipcache list');
      for (const pod of c.pods) {
        const host = c.nodes.find((x) => x.name === pod.nodeName)!;
        const tep = host.name === node.name ? '0.0.0.0' : host.ip;
        expect(ipc.some((l) => l.startsWith(`${pod.ip}/32 `) && l.includes(`tunnelendpoint=${tep} `)), `${node.name} ${pod.name}`).toBe(true);
      }
    }
    // policy get: pod-a, which no policy selects, allows everything both ways.
    const pol = section('node-1', 'cilium bpf policy get default/pod-a');
    expect(pol.filter((l) => l.startsWith('Allow'))).toHaveLength(2);
  });

  it('dpemu maps refuses a scenario that is not in eBPF mode', async () => {
    const r = await runCli(['maps']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ebpf/);
  });
});
