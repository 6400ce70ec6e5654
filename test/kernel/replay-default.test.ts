import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { defaultScenarioPath, loadScenarioFile, packageRoot } from '../../src/scenario/index.js';
import type { Cluster } from '../../src/scenario/index.js';
import { buildWalkCapture } from '../../src/tools/walk-capture.js';
import { KERNEL_DIR } from './kernel-captures.js';

/**
 * `dpemu replay --trace` of the bundled capture (pcaps/default/walk.pcapng: every frame the pods
 * sent on the kernel test bed, one interface per pod) runs clean: the only drop is the documented DF ping that
 * node-1 answers with ICMP frag-needed, and the trace shows each hop of pod-a -> backend-a across
 * the VXLAN underlay.
 */

let out = '';
let err = '';
let code = -1;
let cluster: Cluster;

/** The trace, split per frame: the header line (`  N  time  summary  [path]  VERDICT`) and its hop lines. */
function frames(text: string): { header: string; hops: string[] }[] {
  const res: { header: string; hops: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (/^\s{0,6}\d+\+?\s+\d+\.\d{6}\s/.test(line)) res.push({ header: line, hops: [] });
    else if (line.trim() && res.length && /^\s{8,}node-\d/.test(line)) res[res.length - 1].hops.push(line.trim().replace(/\s+/g, ' '));
  }
  return res;
}

beforeAll(async () => {
  const r = loadScenarioFile(defaultScenarioPath());
  if (!r.ok) throw r.error;
  cluster = r.cluster;
  ({ out, err, code } = await runCli(['replay', '--trace']));
});

describe('dpemu replay --trace of pcaps/default/walk.pcapng', () => {
  it('the bundled capture is the pods\' sent frames of the kernel captures (src/tools/make-walk.ts)', () => {
    expect(Buffer.compare(readFileSync(join(packageRoot(), 'pcaps/default/walk.pcapng')), buildWalkCapture(KERNEL_DIR))).toBe(0);
    expect(Buffer.compare(readFileSync(join(packageRoot(), 'pcaps/default/pod-a.pcap')), readFileSync(join(KERNEL_DIR, 'pod-a.eth0.pcap')))).toBe(0);
  });

  it('exits 0 with every frame replayed and one drop: FRAG_NEEDED for the 1500-byte DF echo', () => {
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^19 frames replayed: 22 packets ended, 19 forwarded, 1 dropped, 2 held for reassembly$/m);
    const drops = frames(out).map((f) => /DROPPED (\S+)/.exec(f.header)?.[1]).filter((d) => d !== undefined);
    expect(drops).toEqual(['FRAG_NEEDED']);
    const df = frames(out).find((f) => f.header.includes('DROPPED'))!;
    expect(df.header).toMatch(/^\s+19\s.*10\.244\.1\.5 -> 10\.244\.3\.9 ICMPv4 echo request .*DROPPED FRAG_NEEDED at node-1 ip4-forward/);
    // node-1's own frag-needed (mtu 1450, from its underlay address) reaches pod-a.
    expect(out).toMatch(/^\s+19\+\s.*10\.0\.1\.5 -> 10\.244\.1\.5 ICMPv4 frag needed .*FORWARDED/m);
  });

  it('every pod-a -> 10.244.2.8 frame shows each hop: pod eth0, host veth, routing, flannel.1, node eth0 on node-1 and node-2', () => {
    const podA = cluster.pods.find((p) => p.name === 'pod-a')!;
    const backendA = cluster.pods.find((p) => p.name === 'backend-a')!;
    const [n1, n2] = [cluster.nodes.find((n) => n.name === podA.nodeName)!, cluster.nodes.find((n) => n.name === backendA.nodeName)!];
    const vx = cluster.tunnel.deviceName;
    const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const want = [
      `${n1.name} frame-input default/pod-a eth0 sent: attached`,
      `${n1.name} veth-xmit default/pod-a eth0 veth -> ${n1.name} ${podA.hostVeth}`,
      `${n1.name} ip4-lookup routing forward: ${n2.podCidr.addr}/${n2.podCidr.prefix} via ${n2.vtepIp} dev ${vx} onlink`,
      `${n1.name} ip4-forward routing ttl: TTL 64 -> 63`,
      `${n1.name} ip4-output ${n1.name} ${vx} xmit ${vx}: neigh ${n2.vtepIp} lladdr ${n2.vtepMac} dev ${vx}`,
      `${n1.name} vxlan4-encap ${n1.name} ${vx} encap: vxlan id ${cluster.tunnel.vni} ${n1.ip}:`,
      `${n1.name} underlay-xmit ${n1.name} eth0 wire -> ${n2.name} eth0: ${n1.mac} > ${n2.mac}`,
      `${n2.name} ip4-lookup routing local: local ${n2.ip} dev eth0`,
      `${n2.name} vxlan4-decap ${n2.name} ${vx} decap: vxlan id ${cluster.tunnel.vni} from ${n1.ip}:`,
      `${n2.name} ip4-lookup routing forward: ${backendA.ip} dev ${backendA.hostVeth} scope link`,
      `${n2.name} ip4-forward routing ttl: TTL 63 -> 62`,
      `${n2.name} ip4-output ${n2.name} ${backendA.hostVeth} xmit ${backendA.hostVeth}: neigh ${backendA.ip} lladdr ${backendA.mac}`,
      `${n2.name} veth-xmit default/backend-a eth0 delivered: ${backendA.hostVeth} -> pod default/backend-a eth0`,
    ];
    const walks = frames(out).filter((f) => f.header.includes(`${podA.ip}:52345 -> ${backendA.ip}:8080`));
    // SYN, ACK, request, ACK, FIN, last ACK.
    expect(walks.length).toBe(6);
    for (const w of walks) {
      expect(w.header).toMatch(new RegExp(esc(`[pod-a > ${podA.hostVeth} > ${vx} > ${n1.name}:eth0 > ${n2.name}:eth0 > ${vx} > ${backendA.hostVeth} > backend-a]  FORWARDED`)));
      // The hops above, in this order; conntrack and iptables lines (the netfilter hooks) come between them.
      let at = 0;
      for (const prefix of want) {
        const found = w.hops.findIndex((h, i) => i >= at && h.startsWith(prefix));
        expect(found, `missing or out of order: ${prefix}\n${w.hops.join('\n')}`).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
      expect(w.hops.filter((h) => / nf4-(prerouting|postrouting) conntrack /.test(h)).length).toBeGreaterThan(0);
      const encap = w.hops.find((h) => h.includes(' encap: '))!;
      const port = /encap: vxlan id \d+ [\d.]+:(\d+) -> ([\d.]+):(\d+)/.exec(encap)!;
      expect(Number(port[1])).toBeGreaterThanOrEqual(32768);
      expect(Number(port[1])).toBeLessThanOrEqual(60999);
      expect([port[2], Number(port[3])]).toEqual([n2.ip, cluster.tunnel.port]);
    }
    // One connection, one direction: one outer source port.
    expect(new Set(walks.map((w) => /encap: vxlan id \d+ [\d.]+:(\d+)/.exec(w.hops.find((h) => h.includes(' encap: '))!)![1])).size).toBe(1);
  });
});

describe('dpemu replay of the Service scenario\'s own capture (pcaps/kernel/service/walk.pcapng)', () => {
  // docs/services.md "See it": the walk holds the pods' sent frames only. pod-a's connection through the
  // ClusterIP, DNS and the unroutable VIP go as on the kernel test bed; backend-b's replies to node-2's
  // NodePort client (not in the walk: it ran on node-2's stack) find no connection.
  it('frames 1-12 are forwarded; backend-b\'s NodePort replies 13-16 are not the kernel\'s; 17 is unroutable', async () => {
    const r = await runCli(['replay', '--scenario', join(packageRoot(), 'pcaps/kernel/service/scenario.yaml')]);
    expect(r.code).toBe(0);
    const text = r.out;
    const verdict = new Map(text.split('\n').flatMap((l) => {
      const m = /^\s{0,6}(\d+\+?)\s+\d+\.\d{6}\s.*\]\s+(FORWARDED|DROPPED \S+ at \S+ \S+)$/.exec(l);
      return m ? [[m[1]!, m[2]!] as const] : [];
    }));
    for (let f = 1; f <= 12; f++) expect(verdict.get(String(f)), `frame ${f}`).toBe('FORWARDED');
    // The SYN-ACK fits no state; the ACK is picked up mid-stream (nf_conntrack_tcp_loose) and the data
    // segment and the FIN follow its entry, ending at node-1's flannel.1 address (10.244.1.0), as running
    // each frame to completion gives (the FIN used to share the ACK's vector and find no entry: CT_INVALID).
    expect(verdict.get('13')).toBe('DROPPED CT_INVALID at node-3 nf4-forward');
    for (const f of [14, 15, 16]) expect(verdict.get(String(f)), `frame ${f}`).toBe('FORWARDED');
    expect(text).toMatch(/^\s+14\s.*10\.244\.3\.9:8080 -> 10\.244\.1\.0:26568 TCP \[\.\]\s+\[backend-b > .* > node-1:eth0 > flannel\.1\]\s+FORWARDED$/m);
    expect(text).toMatch(/^\s+16\s.*10\.244\.3\.9:8080 -> 10\.244\.1\.0:26568 TCP \[F\.\]\s+\[backend-b > .* > node-1:eth0 > flannel\.1\]\s+FORWARDED$/m);
    expect(verdict.get('17')).toBe('DROPPED FIB_LOOKUP_FAILED at node-1 ip4-lookup');
    expect(verdict.get('17+')).toBe('FORWARDED');
  });
});
