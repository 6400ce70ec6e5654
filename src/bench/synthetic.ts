// Seeded synthetic scenarios and frames for benches (bench/ and the suite in src/bench): the default three nodes,
// pod-a on node-1, and `services` ClusterIP Services, each with two endpoints (EndpointSlices) on node-2 and node-3.
import { buildFrame } from '../packet/build.js';
import { loadScenarioText } from '../scenario/index.js';
import type { Cluster } from '../scenario/model.js';
import { Prng } from '../util/prng.js';

export function ip4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Service i has ClusterIP 10.96.0.0 + 16 + i, port 80, endpoints 10.244.2.x:8080 and 10.244.3.x:8080. */
export function serviceVip(i: number): number {
  return (0x0a600000 + 16 + i) >>> 0;
}

/**
 * `backendPods` adds a Pod for every endpoint address (on node-2/node-3), so traffic DNATed to an
 * endpoint crosses VXLAN and is delivered to a pod's veth instead of dropped at the remote node.
 */
export function syntheticCluster(services: number, mode: 'iptables' | 'ipvs' | 'ebpf' = 'iptables', backendPods = false): Cluster {
  const docs: string[] = [
    `apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: bench-${services}}
spec:
  seed: 7
  conntrack: {max: 2097152}
  kubeProxy: {mode: ${mode}}
  nodes:
  - {name: node-1, ip: 10.0.1.5, podCIDR: 10.244.1.0/24}
  - {name: node-2, ip: 10.0.1.6, podCIDR: 10.244.2.0/24}
  - {name: node-3, ip: 10.0.1.7, podCIDR: 10.244.3.0/24}`,
    `apiVersion: v1
kind: Pod
metadata: {name: pod-a, namespace: default, labels: {app: client}}
spec: {nodeName: node-1}
status: {podIP: 10.244.1.5}`,
  ];
  if (backendPods) {
    for (let k = 0; k < Math.min(services, 200); k++) {
      for (const n of [2, 3]) {
        docs.push(`apiVersion: v1
kind: Pod
metadata: {name: be-${n}-${k}, namespace: default, labels: {app: backend}}
spec: {nodeName: node-${n}}
status: {podIP: 10.244.${n}.${10 + k}}`);
      }
    }
  }
  for (let i = 0; i < services; i++) {
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${i}, namespace: default}
spec: {clusterIP: ${ip4(serviceVip(i))}, ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]}`);
    docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-${i}-1, namespace: default, labels: {kubernetes.io/service-name: svc-${i}}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [10.244.2.${10 + (i % 200)}], nodeName: node-2}
- {addresses: [10.244.3.${10 + (i % 200)}], nodeName: node-3}`);
  }
  const r = loadScenarioText(docs.join('\n---\n'), `synthetic-${services}.yaml`);
  if (!r.ok) throw r.error;
  return r.cluster;
}

/** `count` TCP SYNs from pod-a (distinct source ports) to random Services' VIPs, seeded. */
export function synFrames(count: number, services: number, seed = 11): Uint8Array[] {
  const rng = new Prng(seed);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const svc = rng.nextU32() % services;
    frames.push(buildFrame([
      { type: 'eth', src: '0a:58:0a:f4:01:05', dst: 'ee:ee:ee:ee:ee:ee' },
      { type: 'ipv4', src: '10.244.1.5', dst: ip4(serviceVip(svc)), ttl: 64, df: true },
      { type: 'tcp', srcPort: 1024 + (i % 60000), dstPort: 80, flags: 0x02, seq: i * 7919 },
    ]));
  }
  return frames;
}

/**
 * `flows` TCP connections from pod-a to Services' VIPs (seeded choice of Service), `perFlow` segments each,
 * interleaved round-robin so consecutive vectors mix flows. Every segment is ACK|PSH with `payload` bytes:
 * the first one of a flow is picked up mid-stream (nf_conntrack_tcp_loose=1, ESTABLISHED) and takes the
 * nat walk; the rest hit conntrack and reuse its DNAT. One-way traffic: no replies are generated.
 */
export function flowFrames(flows: number, perFlow: number, services: number, payload = 64, seed = 23): Uint8Array[] {
  const rng = new Prng(seed);
  const svc = Array.from({ length: flows }, () => rng.nextU32() % services);
  const data = new Uint8Array(payload);
  for (let i = 0; i < payload; i++) data[i] = rng.nextU32() & 0xff;
  const frames: Uint8Array[] = [];
  for (let p = 0; p < perFlow; p++) {
    for (let f = 0; f < flows; f++) {
      const seq = (f * 7919 + 1 + p * payload) >>> 0;
      frames.push(buildFrame([
        { type: 'eth', src: '0a:58:0a:f4:01:05', dst: 'ee:ee:ee:ee:ee:ee' },
        { type: 'ipv4', src: '10.244.1.5', dst: ip4(serviceVip(svc[f])), ttl: 64, df: true },
        { type: 'tcp', srcPort: 20000 + f, dstPort: 80, flags: 0x18, seq, ack: 1 },
      ], data));
    }
  }
  return frames;
}
