// Seeded policy sets for the policy benches: one target pod selected by one NetworkPolicy with N ingress rules,
// rule i allowing peer pod (i mod P) on TCP port 1024 + floor(i / P), so every rule is a distinct (peer, port)
// pair: the iptables model's to-workload policy chain holds N rules (one -s <peer> --dport rule each) and the
// eBPF model's endpoint policy map N entries (identity of peer, TCP, port).
import { loadScenarioText } from '../scenario/index.js';
import type { Cluster } from '../scenario/model.js';

/** Peer pods (distinct labels, so distinct identities): min(N, 100). */
export function policyPeers(rules: number): number {
  return Math.max(1, Math.min(100, rules));
}

export const POLICY_TARGET_IP = '10.244.2.5';
export const POLICY_PORT_BASE = 1024;

/** Peer j is 10.244.1.(10 + j) on node-1; the target pod (app=target) is 10.244.2.5 on node-2. */
export function policyPeerIp32(j: number): number {
  return (0x0af40100 + 10 + j) >>> 0;
}

export function policyCluster(rules: number, mode: 'iptables' | 'ebpf'): Cluster {
  const peers = policyPeers(rules);
  const docs: string[] = [
    `apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: policy-bench-${rules}}
spec:
  seed: 7
  conntrack: {max: 1048576}
  kubeProxy: {mode: ${mode}}
  nodes:
  - {name: node-1, ip: 10.0.1.5, podCIDR: 10.244.1.0/24}
  - {name: node-2, ip: 10.0.1.6, podCIDR: 10.244.2.0/24}`,
    `apiVersion: v1
kind: Pod
metadata: {name: target, namespace: default, labels: {app: target}}
spec: {nodeName: node-2}
status: {podIP: ${POLICY_TARGET_IP}}`,
  ];
  for (let j = 0; j < peers; j++) {
    docs.push(`apiVersion: v1
kind: Pod
metadata: {name: peer-${j}, namespace: default, labels: {app: peer-${j}}}
spec: {nodeName: node-1}
status: {podIP: 10.244.1.${10 + j}}`);
  }
  const lines: string[] = [];
  for (let i = 0; i < rules; i++) {
    lines.push(`  - {from: [{podSelector: {matchLabels: {app: peer-${i % peers}}}}], ports: [{protocol: TCP, port: ${POLICY_PORT_BASE + Math.floor(i / peers)}}]}`);
  }
  docs.push(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bench-${rules}, namespace: default}
spec:
  podSelector: {matchLabels: {app: target}}
  policyTypes: [Ingress]
  ingress:
${lines.join('\n')}`);
  const r = loadScenarioText(docs.join('\n---\n'), `policy-bench-${rules}.yaml`);
  if (!r.ok) throw r.error;
  return r.cluster;
}
