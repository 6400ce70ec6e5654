/**
 * What both models share about the cluster: identities of pods (src/identity), CIDR identities for the prefixes
 * in policy, one ipcache per node, and the label context of each identity.
 */
import type { Cluster, PodModel } from '../scenario/model.js';
import { IdentityAllocator } from '../identity/identities.js';
import type { CidrIdentity } from '../identity/cidr.js';
import { IpCache, allocateCidrIdentities } from '../identity/cidr.js';
import type { LabelContext } from './selectors.js';
import { podContext } from './selectors.js';
import type { CompiledPolicy } from './compile.js';

export interface IdentityInfo {
  identity: number;
  ctx: LabelContext;
  pods: PodModel[];
}

export class PolicyContext {
  readonly ids: IdentityAllocator;
  readonly cidrIdentities: CidrIdentity[];
  /** Pod identities in numeric order. */
  readonly podIdentities: IdentityInfo[];
  private readonly caches = new Map<string, IpCache>();

  constructor(
    readonly cluster: Cluster,
    compiled: CompiledPolicy,
  ) {
    this.ids = new IdentityAllocator(cluster);
    this.cidrIdentities = allocateCidrIdentities(compiled.cidrs);
    const byId = new Map<number, IdentityInfo>();
    for (const p of cluster.pods) {
      const id = this.ids.forPod(p);
      let info = byId.get(id);
      if (!info) byId.set(id, (info = { identity: id, ctx: podContext(cluster.namespaces, p), pods: [] }));
      info.pods.push(p);
    }
    this.podIdentities = [...byId.values()].sort((a, b) => a.identity - b.identity);
  }

  ipcache(nodeName: string): IpCache {
    let c = this.caches.get(nodeName);
    if (!c) this.caches.set(nodeName, (c = new IpCache(this.cluster, nodeName, this.ids, this.cidrIdentities)));
    return c;
  }
}
