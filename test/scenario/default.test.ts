import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  defaultScenarioPath,
  hostVethName,
  loadScenarioFile,
  nodeByIp,
  nodeByName,
  nodeForPodIp,
  podByIp,
  endpointsForService,
  type Cluster,
} from '../../src/scenario/index.js';

function loadDefault(): Cluster {
  const r = loadScenarioFile(defaultScenarioPath());
  if (!r.ok) throw r.error;
  return r.cluster;
}

describe('default scenario (pcaps/default/scenario.yaml)', () => {
  it('is found from the source tree', () => {
    expect(defaultScenarioPath()).toMatch(/pcaps[/\\]default[/\\]scenario\.yaml$/);
    expect(existsSync(defaultScenarioPath())).toBe(true);
  });

  it('loads without warnings, with the cluster settings and defaults', () => {
    const c = loadDefault();
    expect(c.warnings).toEqual([]);
    expect(c.name).toBe('reference-walk');
    expect(c.seed).toBe(1);
    expect(c.tunnel).toEqual({ mode: 'vxlan', vni: 1, port: 8472, udpCsum: true, deviceName: 'flannel.1', mtu: 1450 });
    expect(c.kubeProxy).toEqual({ mode: 'iptables', manages: true, lbAlgorithm: 'random', maglevTableSize: 16381 });
    expect(c.conntrack.max).toBe(262144);
    // kernel defaults, with kube-proxy's two overrides because kube-proxy manages the nodes
    expect(c.conntrack.timeouts).toEqual({
      tcpSynSent: 120, tcpSynRecv: 60, tcpEstablished: 86400, tcpFinWait: 120, tcpCloseWait: 3600, tcpLastAck: 30,
      tcpTimeWait: 120, tcpClose: 10, tcpUnacknowledged: 300, udp: 30, udpStream: 120, icmp: 30, generic: 600,
    });
    expect(c.namespaces.map((n) => n.name)).toEqual(['default', 'kube-system']);
    expect(c.namespaces[1].labels).toEqual({ 'kubernetes.io/metadata.name': 'kube-system' });
  });

  it('derives node NIC, VTEP MAC and VTEP IP from the documented rules', () => {
    const c = loadDefault();
    expect(c.nodes.map((n) => [n.name, n.index, n.ip, n.mac, n.nicName, n.vtepMac, n.vtepIp, `${n.podCidr.addr}/${n.podCidr.prefix}`, n.mtu])).toEqual([
      ['node-1', 0, '10.0.1.5', '02:00:0a:00:01:05', 'eth0', '02:01:0a:00:01:05', '10.244.1.0', '10.244.1.0/24', 1500],
      ['node-2', 1, '10.0.1.6', '02:00:0a:00:01:06', 'eth0', '02:01:0a:00:01:06', '10.244.2.0', '10.244.2.0/24', 1500],
      ['node-3', 2, '10.0.1.7', '02:00:0a:00:01:07', 'eth0', '02:01:0a:00:01:07', '10.244.3.0', '10.244.3.0/24', 1500],
    ]);
    expect(c.nodes[0].ip32).toBe((10 << 24) + (0 << 16) + (1 << 8) + 5);
    expect(c.nodes[2].podCidr.addr32).toBe(((10 << 24) | (244 << 16) | (3 << 8)) >>> 0);
  });

  it('derives pod MACs, host veths and gateway', () => {
    const c = loadDefault();
    const rows = c.pods.map((p) => [`${p.namespace}/${p.name}`, p.nodeName, p.ip, p.mac, p.hostVeth, p.hostVethMac, p.gatewayIp]);
    expect(rows).toEqual([
      ['default/backend-a', 'node-2', '10.244.2.8', '0a:58:0a:f4:02:08', hostVethName('default', 'backend-a'), 'ee:ee:ee:ee:ee:ee', '169.254.1.1'],
      ['default/backend-b', 'node-3', '10.244.3.9', '0a:58:0a:f4:03:09', hostVethName('default', 'backend-b'), 'ee:ee:ee:ee:ee:ee', '169.254.1.1'],
      ['default/pod-a', 'node-1', '10.244.1.5', '0a:58:0a:f4:01:05', hostVethName('default', 'pod-a'), 'ee:ee:ee:ee:ee:ee', '169.254.1.1'],
      ['kube-system/coredns-0', 'node-2', '10.244.2.15', '0a:58:0a:f4:02:0f', hostVethName('kube-system', 'coredns-0'), 'ee:ee:ee:ee:ee:ee', '169.254.1.1'],
    ]);
    // Literal values, computed independently with `printf %s default.pod-a | sha1sum`.
    expect(c.pods.map((p) => p.hostVeth)).toEqual(['calif1461740ce1', 'cali18719aa934d', 'cali5e1c4d6c68c', 'cali8c346e38bf4']);
    for (const p of c.pods) expect(p.hostVeth).toMatch(/^cali[0-9a-f]{11}$/);
    expect(c.pods.every((p) => !p.ipAllocated && p.ready)).toBe(true);
    expect(c.pods.find((p) => p.name === 'coredns-0')!.containerPorts).toEqual([
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ]);
  });

  it('has the two Services and endpoints derived from their selectors', () => {
    const c = loadDefault();
    expect(c.services.map((s) => [`${s.namespace}/${s.name}`, s.type, s.clusterIp, s.ports])).toEqual([
      ['default/backend', 'ClusterIP', '10.96.5.20', [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 0 }]],
      ['kube-system/kube-dns', 'ClusterIP', '10.96.0.10', [
        { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP', nodePort: 0 },
        { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP', nodePort: 0 },
      ]],
    ]);
    expect(c.services[0].sessionAffinity).toBe('None');
    expect(c.services[0].sessionAffinityTimeoutSeconds).toBe(10800);
    const be = endpointsForService(c, 'default', 'backend');
    expect(be).toHaveLength(1);
    expect(be[0].source).toBe('derived');
    expect(be[0].ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(be[0].endpoints.map((e) => [e.ip, e.nodeName, e.podName, e.ready])).toEqual([
      ['10.244.2.8', 'node-2', 'backend-a', true],
      ['10.244.3.9', 'node-3', 'backend-b', true],
    ]);
    const dns = endpointsForService(c, 'kube-system', 'kube-dns');
    expect(dns[0].endpoints.map((e) => e.ip)).toEqual(['10.244.2.15']);
    expect(dns[0].ports).toEqual([
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ]);
  });

  it('answers the lookups by name, node IP and pod CIDR', () => {
    const c = loadDefault();
    expect(nodeByName(c, 'node-2')?.ip).toBe('10.0.1.6');
    expect(nodeByIp(c, '10.0.1.7')?.name).toBe('node-3');
    expect(nodeByIp(c, c.nodes[0].ip32)?.name).toBe('node-1');
    expect(podByIp(c, '10.244.3.9')?.name).toBe('backend-b');
    expect(podByIp(c, c.pods[0].ip32)?.name).toBe(c.pods[0].name);
    expect(podByIp(c, '10.244.3.10')).toBeUndefined();
    expect(nodeForPodIp(c, '10.244.3.200')?.name).toBe('node-3');
    expect(nodeForPodIp(c, '10.245.0.1')).toBeUndefined();
  });
});

describe('hostVethName follows Calico VethNameForWorkload', () => {
  it('matches a published value of the same sha1("<ns>.<pod>")[:11] rule', () => {
    // aws/amazon-vpc-cni-k8s pkg/networkutils/names_test.go (the scheme it took from Calico) expects suffix
    // "b5faff8a083" for kube-system/coredns-57ff979f67-qqbdh and "cc21c2d7785" for default/sample-pod.
    expect(hostVethName('kube-system', 'coredns-57ff979f67-qqbdh')).toBe('calib5faff8a083');
    expect(hostVethName('kube-system', 'coredns-57ff979f67-8ns9b')).toBe('cali9571956a6cc');
    expect(hostVethName('default', 'sample-pod')).toBe('calicc21c2d7785');
    expect(hostVethName('default', 'sample-pod')).toHaveLength(15); // IFNAMSIZ - 1
  });
});
