import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import type { EngineObserver } from '../../src/engine/runtime.js';
import { formatIpvsadmConns } from '../../src/ipvs/format.js';
import { Recorder } from '../../src/observe/recorder.js';
import { DeviceCapture } from '../../src/observe/device-capture.js';
import { replay } from '../../src/replay/replay.js';
import { loadScenarioText, packageRoot } from '../../src/scenario/index.js';

/**
 * kube-proxy IPVS mode in the pipeline: the reference walk of pcaps/kernel/service (pod-a to the
 * ClusterIP 10.96.5.20:80, one ready backend) scheduled by IPVS instead of the KUBE-SVC chains.
 * The wire result must be the same as iptables mode (DNAT on node-1, reply un-DNATed on node-1).
 */
const dir = join(packageRoot(), 'pcaps/kernel/service');

function cluster(mode: 'iptables' | 'ipvs') {
  const text = readFileSync(join(dir, 'scenario.yaml'), 'utf8').replace(/mode: iptables/, `mode: ${mode}`);
  const r = loadScenarioText(text, `service-${mode}.yaml`);
  if (!r.ok) throw r.error;
  expect(r.cluster.kubeProxy.mode).toBe(mode);
  return r.cluster;
}

async function run(mode: 'iptables' | 'ipvs') {
  const c = cluster(mode);
  const observers: EngineObserver[] = [];
  const dp = new Dataplane(c, { observers, vectorSize: 1 });
  const rec = new Recorder(dp.pool, false);
  const cap = new DeviceCapture(dp.pool, dp.devices.all);
  observers.push(rec, cap);
  await replay({ capture: join(dir, 'pod-a.eth0.pcap'), cluster: c }, dp);
  return { dp, rec, cap, c };
}

describe('kube-proxy IPVS mode', () => {
  it('schedules pod-a -> 10.96.5.20:80 to the backend, records the IPVS connection, and matches iptables mode on the wire', async () => {
    const ipvs = await run('ipvs');
    const ipt = await run('iptables');
    const backend = ipvs.dp.findDevice('default/backend-a')!;
    const atBackend = ipvs.cap.at(backend.id, 0);
    expect(atBackend.length).toBeGreaterThan(0);
    // Every frame delivered to backend-a is addressed to the real server, never to the VIP.
    for (const f of atBackend) expect([...f.bytes.subarray(30, 34)].join('.')).not.toBe('10.96.5.20');
    const ctx = ipvs.dp.contexts.find((x) => x.node.name === 'node-1')!;
    expect(ctx.ipvs).not.toBeNull();
    const conns = formatIpvsadmConns(ctx.ipvs!, 10);
    expect(conns).toMatch(/TCP .*10\.244\.1\.5:52345\s+10\.96\.5\.20:80\s+10\.244\.2\.8:8080/);
    // Same bytes at every device as iptables mode (the translation is the same; only who decided
    // differs), except for the Service without endpoints (10.96.4.4, hex 0a600404): iptables mode
    // has no rule for its ClusterIP and the node has no route (ICMP 3/0), while IPVS holds an empty
    // virtual server and ip_vs_leave answers port unreachable (3/3).
    const empty = (hex: string): boolean => hex.includes('0a600404');
    for (const d of ipvs.dp.devices.all) {
      const a = ipvs.cap.at(d.id).map((f) => Buffer.from(f.bytes).toString('hex')).filter((h) => !empty(h));
      const b = ipt.cap.at(d.id).map((f) => Buffer.from(f.bytes).toString('hex')).filter((h) => !empty(h));
      expect(a, d.label).toEqual(b);
    }
    const podA = ipvs.dp.findDevice('default/pod-a')!;
    const icmpAbout = (frames: { bytes: Uint8Array }[]) =>
      frames.filter((f) => f.bytes[23] === 1 && Buffer.from(f.bytes).toString('hex').includes('0a600404')).map((f) => `${f.bytes[34]}/${f.bytes[35]}`);
    // (pod-a's capture also holds the kernel's own 3/0, replayed from node-1's stack in both runs.)
    expect(icmpAbout(ipvs.cap.at(podA.id, 0)).sort()).toEqual(['3/0', '3/3']);
    expect(icmpAbout(ipt.cap.at(podA.id, 0))).toEqual(['3/0', '3/0']);
  });
});
