import { describe, expect, test } from 'vitest';
import { buildNodeIpvsServices, ipvsIpsets, ipvsRulesCommand, Ipvs, IpvsMasquerade, formatIpvsadm } from '../../src/ipvs/index.js';
import { parseIpv4 } from '../../src/scenario/ipv4.js';
import { withExtra, NODEPORT_LOCAL, LOAD_BALANCER, AFFINITY, NO_ENDPOINTS, THREE_ENDPOINTS } from '../kubeproxy/scenarios.js';

const ip = (s: string) => parseIpv4(s)! >>> 0;

describe('virtual servers per node (kube-proxy IPVS proxier)', () => {
  test('ClusterIP, NodePort on the node address, LoadBalancer ingress; dests weight 1 in reverse-add (kernel list) order', () => {
    const c = withExtra(LOAD_BALANCER);
    const svcs = buildNodeIpvsServices(c, 'node-1').filter((s) => s.servicePortName === 'default/shop:https');
    const node = c.nodes.find((n) => n.name === 'node-1')!;
    expect(svcs.map((s) => `${s.kind} ${s.vip}:${s.port}`)).toEqual(['ClusterIP 10.96.8.8:443', `NodePort ${node.ip}:31443`, 'LoadBalancer 192.0.2.10:443']);
    for (const s of svcs) {
      expect(s.dests.map((d) => `${d.ip}:${d.port}/${d.weight}`)).toEqual(['10.244.3.40:8080/1', '10.244.2.40:8080/1']);
      expect(s.scheduler).toBe('rr');
    }
  });

  test('externalTrafficPolicy Local: NodePort keeps local endpoints, or all when the node has none (kubernetes#97081)', () => {
    const c = withExtra(NODEPORT_LOCAL);
    const np = (node: string) => buildNodeIpvsServices(c, node).find((s) => s.kind === 'NodePort' && s.servicePortName === 'default/web:http')!;
    expect(np('node-2').dests.map((d) => d.ip)).toEqual(['10.244.2.30']);
    expect(np('node-2').local).toBe(true);
    expect(np('node-1').dests.map((d) => d.ip)).toEqual(['10.244.2.30']);
  });

  test('ClientIP affinity -> persistent 10800; no endpoints -> virtual server without real servers; mh gets mh-port', () => {
    const c = withExtra(AFFINITY + NO_ENDPOINTS);
    const svcs = buildNodeIpvsServices(c, 'node-1');
    const sticky = svcs.find((s) => s.vip === '10.96.9.9')!;
    expect(sticky.persistentTimeout).toBe(10800);
    expect(formatIpvsadm([sticky])).toContain('TCP  10.96.9.9:80 rr persistent 10800\n');
    const empty = svcs.filter((s) => s.servicePortName.startsWith('default/empty'));
    expect(empty.length).toBe(4); // 2 ports x (ClusterIP + NodePort)
    for (const s of empty) expect(s.dests).toEqual([]);
    expect(formatIpvsadm(empty)).toContain('UDP  10.96.4.4:53 rr\n');
    const mh = buildNodeIpvsServices(c, 'node-1', { scheduler: 'mh' });
    expect(formatIpvsadm(mh)).toContain('TCP  10.96.9.9:80 mh (mh-port) persistent 10800\n');
  });

  test('ipvsRulesCommand prints ipvsadm -Ln for a node, exit 2 for an unknown node', () => {
    const c = withExtra(THREE_ENDPOINTS);
    let out = '';
    let err = '';
    const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t), errIsTty: false };
    expect(ipvsRulesCommand(c, { node: 'node-1' }, io)).toBe(0);
    expect(out.startsWith('IP Virtual Server version 1.2.1 (size=4096)\n')).toBe(true);
    expect(out).toContain('TCP  10.96.3.3:80 rr\n  -> 10.244.1.31:8080             Masq    1      0          0         \n');
    expect(ipvsRulesCommand(c, { node: 'nope' }, io)).toBe(2);
    expect(err).toContain('no node nope');
  });
});

describe('masquerade decision as in iptables mode (ipsets + KUBE-* rules)', () => {
  test('ipsets and KUBE-MARK-MASQ: off-cluster to ClusterIP, NodePort (not Local), LB (not Local); hairpin via KUBE-LOOP-BACK', () => {
    const c = withExtra(LOAD_BALANCER + NODEPORT_LOCAL);
    const svcs = buildNodeIpvsServices(c, 'node-2');
    const sets = ipvsIpsets(svcs);
    expect(sets['KUBE-CLUSTER-IP']).toContain('10.96.8.8,tcp:443');
    expect(sets['KUBE-LOAD-BALANCER']).toEqual(['192.0.2.10,tcp:443']);
    expect(sets['KUBE-NODE-PORT-TCP']).toEqual(expect.arrayContaining([31443, 30080]));
    expect(sets['KUBE-NODE-PORT-LOCAL-TCP']).toEqual([30080]);
    expect(sets['KUBE-LOOP-BACK']).toContain('10.244.2.40,tcp:8080,10.244.2.40');

    const ipvs = new Ipvs(svcs, { connCapacity: 16 });
    const m = new IpvsMasquerade(svcs, { clusterCidr: { addr32: ip('10.244.0.0'), prefix: 16 }, masqueradeAll: false });
    const node = c.nodes.find((n) => n.name === 'node-2')!;
    const cip = ipvs.findService(6, ip('10.96.8.8'), 443);
    expect(m.marksMasq(cip, 'TCP', ip('10.244.1.5'), 443, true)).toBe(false); // pod source
    expect(m.marksMasq(cip, 'TCP', ip('192.168.50.1'), 443, true)).toBe(true); // off-cluster source
    const lb = ipvs.findService(6, ip('192.0.2.10'), 443);
    expect(m.marksMasq(lb, 'TCP', ip('10.244.1.5'), 443, false)).toBe(true);
    const np = ipvs.findService(6, node.ip32, 31443);
    expect(m.marksMasq(np, 'TCP', ip('192.168.50.1'), 31443, true)).toBe(true);
    const npLocal = ipvs.findService(6, node.ip32, 30080);
    expect(m.marksMasq(npLocal, 'TCP', ip('192.168.50.1'), 30080, true)).toBe(false);
    expect(m.hairpin('TCP', ip('10.244.2.40'), ip('10.244.2.40'), 8080)).toBe(true);
    expect(m.hairpin('TCP', ip('10.244.3.40'), ip('10.244.2.40'), 8080)).toBe(false);
  });
});

describe('internalTrafficPolicy Local (syncEndpoint over CategorizeEndpoints)', () => {
  const itpLocal = (type: string, etp: string) => `---
apiVersion: v1
kind: Pod
metadata: { name: itl-0, namespace: default, labels: { app: itl } }
spec:
  nodeName: node-2
  containers: [{ name: web, image: nginx, ports: [{ name: http, containerPort: 8080, protocol: TCP }] }]
status: { podIP: 10.244.2.70 }
---
apiVersion: v1
kind: Service
metadata: { name: itl, namespace: default }
spec:
  type: ${type}
  clusterIP: 10.96.13.13
  internalTrafficPolicy: Local
  externalTrafficPolicy: ${etp}
  selector: { app: itl }
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP${type === 'NodePort' ? ', nodePort: 30130' : ''} }]
`;
  const dests = (yaml: string, node: string, kind: string) =>
    buildNodeIpvsServices(withExtra(yaml), node).find((s) => s.kind === kind && s.servicePortName === 'default/itl:http')!.dests.map((d) => d.ip);

  test('ClusterIP Service: a node without a local endpoint gets no real servers (kube-proxy uses no cluster endpoints)', () => {
    expect(dests(itpLocal('ClusterIP', 'Cluster'), 'node-2', 'ClusterIP')).toEqual(['10.244.2.70']);
    expect(dests(itpLocal('ClusterIP', 'Cluster'), 'node-1', 'ClusterIP')).toEqual([]);
  });

  test('NodePort with both policies Local: none on a node without a local endpoint, ClusterIP and NodePort alike', () => {
    const y = itpLocal('NodePort', 'Local');
    expect(dests(y, 'node-1', 'ClusterIP')).toEqual([]);
    expect(dests(y, 'node-1', 'NodePort')).toEqual([]);
    expect(dests(y, 'node-2', 'NodePort')).toEqual(['10.244.2.70']);
  });

  test('NodePort with externalTrafficPolicy Cluster: the cluster endpoints are used, so the ClusterIP falls back to them', () => {
    expect(dests(itpLocal('NodePort', 'Cluster'), 'node-1', 'ClusterIP')).toEqual(['10.244.2.70']);
  });
});
