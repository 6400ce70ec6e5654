/**
 * `dpemu walk` (src/cli/walk-command.ts): a packet built from names, walked like a captured one. The
 * request must take the path the kernel's own SYN took in the Service capture, the reply must be
 * un-NATed on its way back, and everything goes through the replay (so `--save` replays identically).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/scenario/index.js';
import { runCli } from '../helpers/cli.js';

const SERVICE = join(packageRoot(), 'pcaps/kernel/service/scenario.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'dpemu-walk-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Packet lines: [frame, what, path, verdict]. */
function packets(out: string): Array<[string, string, string, string]> {
  return out.split('\n').flatMap((l) => {
    // `frame  time  what  [path]  verdict` (replay-command.ts); the path is the last [...] of the line.
    const m = /^\s{0,6}(\d+\+?)\s+\d+\.\d{6}\s\s(.*)\s\s\[([^[\]]*)\]\s\s(FORWARDED|DROPPED .*|TRACED.*)$/.exec(l);
    return m ? [[m[1]!, m[2]!, m[3]!, m[4]!] as [string, string, string, string]] : [];
  });
}

describe('dpemu walk', () => {
  it('pod-a -> the backend Service: the same path as the kernel capture\'s SYN, with the DNAT rule, and the reply un-NATed', async () => {
    const kernel = packets((await runCli(['replay', '--scenario', SERVICE])).out);
    const r = await runCli(['walk', '--scenario', SERVICE, '--from', 'pod-a', '--to', 'backend', '--reply']);
    expect(r.code).toBe(0);
    const [req, rep] = packets(r.out);
    // Frame 1 of pcaps/kernel/service/walk.pcapng is pod-a's SYN to 10.96.5.20:80.
    expect(kernel[0]![1]).toMatch(/^10\.244\.1\.5:\d+ -> 10\.244\.2\.8:8080 TCP \[S\]$/);
    expect(req![2]).toBe(kernel[0]![2]);
    expect(req![1]).toBe('10.244.1.5:40000 -> 10.244.2.8:8080 TCP [S]');
    expect(req![3]).toBe('FORWARDED');
    expect(r.out).toMatch(/nf4-prerouting  conntrack\s+DNAT: to 10\.244\.2\.8:8080 \(-A KUBE-SEP-\w+ .*-j DNAT --to-destination 10\.244\.2\.8:8080\)/);
    // backend-a answers the address it saw; node-1 restores the VIP, as for the kernel's SYN-ACK (frame 2).
    expect(kernel[1]![1]).toMatch(/^10\.96\.5\.20:80 -> 10\.244\.1\.5:\d+ TCP \[S\.\]$/);
    expect(rep).toEqual(['2', '10.96.5.20:80 -> 10.244.1.5:40000 TCP [S.]', kernel[1]![2], 'FORWARDED']);
    expect(r.out).toMatch(/node-2\s+nf4-prerouting\s+conntrack\s+ESTABLISHED \(reply\): tcp\s+6 \d+ SYN_RECV/);
    expect(r.out.trimEnd().split('\n').pop()).toBe('2 frames replayed: 2 packets ended, 2 forwarded, 0 dropped');
  });

  it('a node\'s own stack to another node\'s NodePort: masqueraded there, and the reply comes back to the node port', async () => {
    const r = await runCli(['walk', '--scenario', SERVICE, '--from', 'node-2', '--to', 'node-1:30080', '--reply', '--brief']);
    expect(r.code).toBe(0);
    const [req, rep] = packets(r.out);
    expect(req![1]).toMatch(/^10\.244\.1\.0:\d+ -> 10\.244\.3\.9:8080 TCP \[S\]$/);
    expect(req![2]).toMatch(/> backend-b$/);
    expect(rep).toEqual(['2', '10.0.1.5:30080 -> 10.0.1.6:40000 TCP [S.]', expect.stringMatching(/^backend-b > .* > node-2:eth0$/), 'FORWARDED']);
  });

  it('UDP to kube-dns and an ICMP echo: the Service port\'s protocol by default, --proto otherwise', async () => {
    const dns = await runCli(['walk', '--from', 'pod-a', '--to', 'kube-system/kube-dns', '--reply', '--brief']);
    expect(packets(dns.out).map((p) => [p[1], p[3]])).toEqual([
      ['10.244.1.5:40000 -> 10.244.2.15:53 UDP', 'FORWARDED'],
      ['10.96.0.10:53 -> 10.244.1.5:40000 UDP', 'FORWARDED'],
    ]);
    const ping = await runCli(['walk', '--from', 'pod-a', '--to', 'backend-b', '--proto', 'icmp', '--reply', '--brief']);
    expect(packets(ping.out).map((p) => [p[1], p[3]])).toEqual([
      ['10.244.1.5 -> 10.244.3.9 ICMPv4 echo request', 'FORWARDED'],
      ['10.244.3.9 -> 10.244.1.5 ICMPv4 echo reply', 'FORWARDED'],
    ]);
  });

  it('takes a Service\'s DNS name as a pod would resolve it', async () => {
    for (const name of ['kube-dns.kube-system', 'kube-dns.kube-system.svc', 'kube-dns.kube-system.svc.cluster.local:53']) {
      const r = await runCli(['walk', '--from', 'pod-a', '--to', name, '--brief']);
      expect(packets(r.out).map((p) => [p[1], p[3]]), name).toEqual([['10.244.1.5:40000 -> 10.244.2.15:53 UDP', 'FORWARDED']]);
    }
    const wrong = await runCli(['walk', '--from', 'pod-a', '--to', 'kube-dns.default.svc.cluster.local']);
    expect(wrong.code).toBe(2);
  });

  it('a headless Service resolves to its first ready endpoint; a StatefulSet pod by its DNS name under it', async () => {
    const { copyFileSync } = await import('node:fs');
    const sts = join(tmp, 'sts.yaml');
    copyFileSync(join(packageRoot(), 'pcaps/scenarios/course-lab.yaml'), sts);
    const { appendFileSync } = await import('node:fs');
    appendFileSync(sts, `---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432, name: pg}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {nodeName: node-2, containers: [{name: pg, ports: [{containerPort: 5432, name: pg}]}]}}
`);
    const headless = await runCli(['walk', '--scenario', sts, '--from', 'client', '--to', 'db', '--brief']);
    expect(headless.err).toContain('--to db: headless Service default/db resolves to its endpoint 10.244.2.');
    expect(packets(headless.out)[0]![2]).toMatch(/ > db-0$/);
    expect(packets(headless.out)[0]![1]).toMatch(/:5432 TCP \[S\]$/);
    const byDns = await runCli(['walk', '--scenario', sts, '--from', 'client', '--to', 'db-1.db.default.svc.cluster.local', '--brief']);
    expect(packets(byDns.out)[0]![2]).toMatch(/ > db-1$/);
  });

  it('--save keeps the frames sent: a pcapng that dpemu replay walks the same way', async () => {
    const file = join(tmp, 'saved.pcapng');
    const walk = await runCli(['walk', '--from', 'pod-a', '--to', 'backend', '--reply', '--save', file]);
    expect(walk.err).toContain(`saved the frames sent in ${file}`);
    const again = await runCli(['replay', '--trace', file]);
    expect(again.out).toBe(walk.out);
    const inspect = await runCli(['inspect', file]);
    expect(inspect.code).toBe(0);
    expect(inspect.out).toMatch(/Number of packets:\s+2/);
  });

  it('the native and the TypeScript engine walk alike', async () => {
    const ts = await runCli(['walk', '--engine', 'ts', '--from', 'pod-a', '--to', 'backend', '--reply']);
    const nat = await runCli(['walk', '--engine', 'native', '--from', 'pod-a', '--to', 'backend', '--reply']);
    expect(nat.out).toBe(ts.out);
  });

  it('takes a workload\'s name for its first pod (course YAML: Deployments, not Pods)', async () => {
    const lab = join(packageRoot(), 'pcaps/scenarios/course-lab.yaml');
    const r = await runCli(['walk', '--scenario', lab, '--from', 'client', '--to', 'web', '--reply', '--brief']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/--from client: Deployment default\/client's pod client-\w+-\w{5} \(1 of 1\)/);
    const [req, rep] = packets(r.out);
    expect(req![1]).toMatch(/^10\.244\.\d\.\d+:40000 -> 10\.244\.\d\.\d+:8080 TCP \[S\]$/);
    expect(req![2]).toMatch(/^client-\w+-\w{5} > .* > web-\w+-\w{5}$/);
    expect(req![3]).toBe('FORWARDED');
    expect(rep![1]).toMatch(/^10\.96\.0\.\d+:80 -> 10\.244\.\d\.\d+:40000 TCP \[S\.\]$/);
  });

  it('finds a Deployment\'s pod through its ReplicaSet (a kubectl get all dump: Pods owned by the ReplicaSet)', async () => {
    const { writeFileSync } = await import('node:fs');
    const dump = join(tmp, 'dump.yaml');
    writeFileSync(dump, `apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: dump}
spec:
  nodes: [{name: node-1, ip: 192.168.1.11, podCIDR: 10.244.1.0/24}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: w}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f7c9b4-abcde
  labels: {app: web, pod-template-hash: 5d8f7c9b4}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7c9b4, controller: true}]
spec: {nodeName: node-1, containers: [{name: w}]}
`);
    const r = await runCli(['walk', '--scenario', dump, '--from', 'web', '--to', '10.244.1.9:80', '--brief']);
    expect(r.err).toContain("--from web: Deployment default/web's pod web-5d8f7c9b4-abcde (1 of 1)");
    expect(r.code).toBe(0);
  });

  it.each([
    [['walk', '--to', 'backend'], /--from and --to are required/],
    [['walk', '--from', 'pod-z', '--to', 'backend'], /--from pod-z: no pod or node of that name \(pods: default\/backend-a, .*; nodes: node-1, node-2, node-3\)/],
    [['walk', '--from', 'pod-a', '--to', 'nope'], /--to nope: no Service, pod or node of that name, and not an IPv4 address \(Services: default\/backend, kube-system\/kube-dns\)/],
    [['walk', '--from', 'pod-a', '--to', 'backend:81'], /--to backend:81: Service default\/backend has port\(s\) 80/],
    [['walk', '--from', 'pod-a', '--to', 'backend:70000'], /--to backend:70000: the port must be 1-65535/],
    [['walk', '--from', 'pod-a', '--to', 'backend', '--proto', 'sctp'], /--proto takes tcp, udp or icmp, got sctp/],
    [['walk', '--from', 'pod-a', '--to', 'backend', '--sport', '0'], /--sport must be a port 1-65535, got 0/],
    [['walk', '--from', 'pod-a', '--to', 'backend', '--connections', '0'], /--connections must be 1-1000, got 0/],
    [['walk', '--from', 'pod-a', '--to', 'backend', '--connections', '3', '--reply'], /give --connections or --reply, not both/],
    [['walk', '--from', 'pod-a', '--to', 'backend', '--connections', '3', '--sport', '65534'], /runs past port 65535/],
  ])('%j exits 2 saying what is wrong', async (args, message) => {
    const r = await runCli(args);
    expect(r.err).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('--connections N: N requests from consecutive source ports, spread by the load balancer; ClientIP affinity keeps them on one backend', async () => {
    const lab = join(packageRoot(), 'pcaps/scenarios/course-lab.yaml');
    const spread = packets((await runCli(['walk', '--scenario', lab, '--from', 'client', '--to', 'web', '--connections', '40', '--brief'])).out);
    expect(spread.map((p) => p[1].split(' ')[0])).toEqual(Array.from({ length: 40 }, (_, k) => `10.244.1.2:${40000 + k}`));
    const backends = (ps: typeof spread): Set<string> => new Set(ps.map((p) => p[2].split(' > ').pop()!));
    expect(backends(spread).size).toBe(3);
    const sticky = join(tmp, 'lab-affinity.yaml');
    writeFileSync(sticky, readFileSync(lab, 'utf8').replace('  selector: {app: web}\n', '  selector: {app: web}\n  sessionAffinity: ClientIP\n'));
    const kept = packets((await runCli(['walk', '--scenario', sticky, '--from', 'client', '--to', 'web', '--connections', '40', '--brief'])).out);
    expect(kept.length).toBe(40);
    expect(backends(kept).size).toBe(1);
  });

  it('says when nothing received the packet, so there is no reply', async () => {
    const r = await runCli(['walk', '--from', 'pod-a', '--to', '10.9.9.9:80', '--reply', '--brief']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('no pod received the TCP packet, so there is no reply to walk');
    // The node's ICMP net unreachable reaches pod-a (1+); nothing answers as a pod would.
    expect(packets(r.out).map((p) => [p[0], p[3]])).toEqual([['1', 'DROPPED FIB_LOOKUP_FAILED at node-1 ip4-lookup'], ['1+', 'FORWARDED']]);
  });

  it.each([
    ['scenario.yaml', '../default/scenario.yaml', 'will be REJECTed like kube-proxy does (once routed: a node without a route to it drops it FIB_LOOKUP_FAILED first)', 'DROPPED FIB_LOOKUP_FAILED at node-1 ip4-lookup'],
    ['ipvs.yaml', 'ipvs.yaml', 'is dropped SERVICE_BACKEND_NOT_FOUND at ipvs4-in', 'DROPPED SERVICE_BACKEND_NOT_FOUND at node-1 ipvs4-in'],
    ['service-ebpf.yaml', 'service-ebpf.yaml', 'is dropped SERVICE_BACKEND_NOT_FOUND at connect() (sock4-connect)', 'DROPPED SERVICE_BACKEND_NOT_FOUND at node-1 sock4-connect'],
  ])('%s: the warning for a Service without endpoints says what the walk then shows', async (_name, file, warned, verdict) => {
    const lonely = join(tmp, 'lonely.yaml');
    writeFileSync(lonely, 'apiVersion: v1\nkind: Service\nmetadata: {name: lonely, namespace: default}\nspec:\n  clusterIP: 10.96.0.50\n  selector: {app: nothing}\n  ports: [{port: 80}]\n');
    const r = await runCli(['walk', '--scenario', join(packageRoot(), 'pcaps/scenarios', file), '--scenario', lonely, '--from', 'pod-a', '--to', 'lonely', '--brief']);
    expect(r.err).toContain(`selector app=nothing matches no pod; traffic to 10.96.0.50 ${warned}`);
    expect(packets(r.out).filter((p) => p[0] === '1').map((p) => p[3])).toEqual([verdict]);
  });

  it('--to NAME:PORTNAME picks a Service port or container port by its name (kube-dns:dns is UDP 53, dns-tcp TCP 53)', async () => {
    const dns = await runCli(['walk', '--from', 'pod-a', '--to', 'kube-dns:dns', '--brief']);
    const dnsTcp = await runCli(['walk', '--from', 'pod-a', '--to', 'kube-dns:dns-tcp', '--brief']);
    expect(packets(dns.out)[0]![1]).toMatch(/-> 10\.244\.\d+\.\d+:53 UDP/);
    expect(packets(dnsTcp.out)[0]![1]).toMatch(/-> 10\.244\.\d+\.\d+:53 TCP \[S\]/);
    const lab = join(packageRoot(), 'pcaps/scenarios/course-lab.yaml');
    const pod = await runCli(['walk', '--scenario', lab, '--from', 'client', '--to', 'web-55869b7ff4-5r44q:http', '--brief']);
    expect(packets(pod.out)[0]![1]).toMatch(/-> 10\.244\.2\.2:8080 TCP/);
  });

  it.each([
    ['backend:abc', 'Service default/backend has no port named abc (its named ports: http)'],
    ['backend:Bad_Name', '"Bad_Name" is neither a port number (1-65535) nor a port name'],
    ['node-1:http', 'a port name needs a Service or a pod to look it up in; give node-1 a port number'],
    ['backend:0', 'the port must be 1-65535'],
  ])('--to %s is exit 2: %s', async (to, message) => {
    const r = await runCli(['walk', '--from', 'pod-a', '--to', to, '--brief']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.out).toBe('');
  });
});
