import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli.js';
import { buildWalkCapture } from '../../src/tools/walk-capture.js';
import { packageRoot } from '../../src/scenario/index.js';
import { readFileSync } from 'node:fs';

/**
 * The reference walk in kube-proxy ebpf mode (pcaps/scenarios/service-ebpf.yaml over the frames the
 * pods sent on the Service test bed): pod A's connect() to 10.96.5.20:80 goes to 10.244.2.8:8080 at
 * the socket, before the veth; no node DNATs; replies are reverse-translated at recvmsg().
 */
const root = packageRoot();

describe('eBPF mode reference walk (socket LB)', () => {
  it('the bundled Service walk capture is the pods\' sent frames of the kernel capture', () => {
    expect(Buffer.compare(readFileSync(join(root, 'pcaps/kernel/service/walk.pcapng')), buildWalkCapture(join(root, 'pcaps/kernel/service')))).toBe(0);
  });

  it('translates at connect(), never DNATs on a node, reverse-translates replies at recvmsg()', async () => {
    // No capture named: the scenario's spec.capture (../kernel/service/walk.pcapng) is replayed.
    const r = await run(['replay', '--trace', '--scenario', join(root, 'pcaps/scenarios/service-ebpf.yaml')]);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    // Frame 1: the SYN leaves pod-a already addressed to the backend and is delivered there.
    expect(lines[0]).toMatch(/^\s+1\s.*10\.244\.1\.5:52345 -> 10\.244\.2\.8:8080 TCP \[S\]\s+\[pod-a > .* > backend-a\]\s+FORWARDED$/);
    expect(r.out).toContain('sock4-connect   sock4                        connect() to 10.96.5.20:80 -> 10.244.2.8:8080');
    expect(r.out).toContain('recvmsg() revnat 10.244.2.8:8080 -> 10.96.5.20:80');
    // No kube-proxy rules and no conntrack DNAT anywhere in eBPF mode.
    expect(r.out).not.toMatch(/conntrack +DNAT|KUBE-SVC|iptables nat/);
    // The DNS query to kube-dns's ClusterIP is translated by sendmsg() too.
    expect(r.out).toMatch(/sendmsg\(\) to 10\.96\.0\.10:53 -> 10\.244\.2\.15:53/);
  });

  it('dpemu maps shows the Service, the bpf_lxc conntrack entries and the ipcache', async () => {
    const r = await run(['maps', '--scenario', join(root, 'pcaps/scenarios/service-ebpf.yaml'), join(root, 'pcaps/kernel/service/walk.pcapng'), '--node', 'node-1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/10\.96\.5\.20:80\/TCP \(1\)\s+10\.244\.2\.8:8080\/TCP \(1\) \(1\)/);
    expect(r.out).toMatch(/^TCP OUT 10\.244\.1\.5:52345 -> 10\.244\.2\.8:8080 .*TxPackets=6 .*SourceSecurityID=257/m);
    expect(r.out).toMatch(/^10\.244\.2\.8\/32\s+identity=256 encryptkey=0 tunnelendpoint=10\.0\.1\.6/m);
  });
});
