import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultScenarioPath, loadScenarioFile, packageRoot } from '../../src/scenario/index.js';
import { ok } from './helpers.js';

/**
 * Ground truth: the kernel-capture script builds the default scenario in network namespaces with the same
 * derivation rules and records what it configured. The loader must agree on every address and name.
 */
interface Manifest {
  topology: {
    vxlan: { device: string; vni: number; dstport: number; mtu: number; udpcsum: boolean };
    pod_gateway: { ip: string; mac: string };
    nodes: Array<{ name: string; ip: string; nic: string; nic_mac: string; vtep_mac: string; pod_cidr: string; vtep_ip: string }>;
    pods: Array<{ name: string; namespace: string; ip: string; node: string; mac: string; host_veth: string; host_veth_mac: string; labels: Record<string, string> }>;
  };
}

describe('default scenario agrees with the kernel capture (pcaps/kernel/pod-to-pod/manifest.json)', () => {
  const m = JSON.parse(readFileSync(join(packageRoot(), 'pcaps/kernel/pod-to-pod/manifest.json'), 'utf8')) as Manifest;
  const c = ok(loadScenarioFile(defaultScenarioPath()));

  it('tunnel device', () => {
    const v = m.topology.vxlan;
    expect([c.tunnel.deviceName, c.tunnel.vni, c.tunnel.port, c.tunnel.mtu, c.tunnel.udpCsum]).toEqual([v.device, v.vni, v.dstport, v.mtu, v.udpcsum]);
  });

  it('nodes', () => {
    expect(c.nodes.map((n) => ({
      name: n.name, ip: n.ip, nic: n.nicName, nic_mac: n.mac, vtep_mac: n.vtepMac,
      pod_cidr: `${n.podCidr.addr}/${n.podCidr.prefix}`, vtep_ip: n.vtepIp,
    }))).toEqual(m.topology.nodes.map(({ name, ip, nic, nic_mac, vtep_mac, pod_cidr, vtep_ip }) => ({ name, ip, nic, nic_mac, vtep_mac, pod_cidr, vtep_ip })));
  });

  it('pods', () => {
    const key = (a: { namespace: string; name: string }) => `${a.namespace}/${a.name}`;
    const want = [...m.topology.pods].sort((a, b) => key(a).localeCompare(key(b)));
    expect(c.pods.map((p) => ({
      name: p.name, namespace: p.namespace, ip: p.ip, node: p.nodeName, mac: p.mac, host_veth: p.hostVeth,
      host_veth_mac: p.hostVethMac, labels: p.labels, gw: [p.gatewayIp, p.hostVethMac],
    }))).toEqual(want.map(({ name, namespace, ip, node, mac, host_veth, host_veth_mac, labels }) => ({
      name, namespace, ip, node, mac, host_veth, host_veth_mac, labels, gw: [m.topology.pod_gateway.ip, m.topology.pod_gateway.mac],
    })));
  });
});
