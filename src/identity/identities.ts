import type { Cluster, PodModel } from '../scenario/model.js';

/** Cilium's reserved identities (pkg/identity/numericidentity.go). */
export const ReservedIdentity = {
  UNKNOWN: 0,
  HOST: 1,
  WORLD: 2,
  UNMANAGED: 3,
  HEALTH: 4,
  INIT: 5,
  REMOTE_NODE: 6,
  KUBE_APISERVER: 7,
} as const;

/** The label `cilium identity list` shows for a reserved identity, or undefined for another number. */
export function reservedLabel(id: number): string | undefined {
  return RESERVED_LABELS[id];
}
const RESERVED_LABELS: Readonly<Record<number, string>> = {
  [ReservedIdentity.UNKNOWN]: 'reserved:unknown',
  [ReservedIdentity.HOST]: 'reserved:host',
  [ReservedIdentity.WORLD]: 'reserved:world',
  [ReservedIdentity.UNMANAGED]: 'reserved:unmanaged',
  [ReservedIdentity.HEALTH]: 'reserved:health',
  [ReservedIdentity.INIT]: 'reserved:init',
  [ReservedIdentity.REMOTE_NODE]: 'reserved:remote-node',
  [ReservedIdentity.KUBE_APISERVER]: 'reserved:kube-apiserver',
};

/** First identity a cluster's label sets get, as Cilium allocates them. */
export const FIRST_CLUSTER_IDENTITY = 256;

/**
 * The labels Cilium derives for a pod's security identity: its labels with the `k8s:` source
 * prefix, plus the namespace label, sorted.
 */
export function podIdentityLabels(pod: PodModel): string[] {
  const labels = Object.entries(pod.labels).map(([k, v]) => `k8s:${k}=${v}`);
  labels.push(`k8s:io.kubernetes.pod.namespace=${pod.namespace}`);
  return labels.sort();
}

/**
 * Numeric identities: one per unique label set (namespace included), numbered from 256 in the
 * sorted order of the label sets, so the same scenario always gets the same numbers.
 */
export class IdentityAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly ofPod = new Map<string, number>();

  constructor(cluster: Cluster) {
    const keys = [...new Set(cluster.pods.map((p) => podIdentityLabels(p).join(',')))].sort();
    keys.forEach((k, i) => this.byKey.set(k, FIRST_CLUSTER_IDENTITY + i));
    for (const p of cluster.pods) this.ofPod.set(`${p.namespace}/${p.name}`, this.byKey.get(podIdentityLabels(p).join(','))!);
  }

  forPod(pod: PodModel): number {
    return this.ofPod.get(`${pod.namespace}/${pod.name}`) ?? ReservedIdentity.UNKNOWN;
  }

  /** Label set -> identity, in identity order. */
  entries(): [string, number][] {
    return [...this.byKey.entries()].sort((a, b) => a[1] - b[1]);
  }
}
