/**
 * CIDR identities and the ipcache, as Cilium has them for policy.
 *
 * Every CIDR prefix a policy names (ipBlock cidr and except, fromCIDR/toCIDR, CIDRSet cidr and except) gets a
 * node-local identity from Cilium's local scope (1<<24, first 16777217), numbered in sorted prefix order
 * (address, then length) so the numbers are reproducible. 0.0.0.0/0 is `world` (2), as in Cilium.
 *
 * The ipcache maps an address to an identity: endpoint addresses (pods, nodes) exactly, then the longest
 * policy prefix holding the address, then world. Pods and nodes never take a CIDR identity, which is why a
 * CIDR rule does not select pods or nodes in Cilium (policy-cidr-match-mode unset).
 */
import type { Cluster } from '../scenario/model.js';
import type { Ipv4Cidr } from '../scenario/ipv4.js';
import { cidrContains, formatCidr, prefixMask } from '../scenario/ipv4.js';
import { IdentityAllocator, ReservedIdentity } from './identities.js';

/** Cilium's IdentityScopeLocal (pkg/identity/numericidentity.go). */
export const LOCAL_IDENTITY_SCOPE = 1 << 24;
export const FIRST_LOCAL_IDENTITY = LOCAL_IDENTITY_SCOPE + 1;

export interface CidrIdentity {
  cidr: Ipv4Cidr;
  identity: number;
}

/** Local identities for the given prefixes (duplicates and 0.0.0.0/0 folded). */
export function allocateCidrIdentities(prefixes: Iterable<Ipv4Cidr>): CidrIdentity[] {
  const uniq = new Map<string, Ipv4Cidr>();
  for (const p of prefixes) if (p.prefix > 0) uniq.set(formatCidr(p), p);
  const sorted = [...uniq.values()].sort((a, b) => a.addr32 - b.addr32 || a.prefix - b.prefix);
  return sorted.map((cidr, i) => ({ cidr, identity: FIRST_LOCAL_IDENTITY + i }));
}

/** One node's view: its own addresses are `host`, other nodes' are `remote-node`. */
export class IpCache {
  private readonly exact = new Map<number, number>();
  /** Per prefix length, masked address -> identity; probed longest first (constant: at most 32 probes). */
  private readonly byLen: Array<Map<number, number> | undefined> = [];
  private readonly lens: number[];
  readonly cidrIdentities: readonly CidrIdentity[];

  constructor(cluster: Cluster, nodeName: string, ids: IdentityAllocator, cidrs: readonly CidrIdentity[]) {
    this.cidrIdentities = cidrs;
    for (const n of cluster.nodes) this.exact.set(n.ip32, n.name === nodeName ? ReservedIdentity.HOST : ReservedIdentity.REMOTE_NODE);
    for (const p of cluster.pods) this.exact.set(p.ip32, ids.forPod(p));
    for (const c of cidrs) {
      let m = this.byLen[c.cidr.prefix];
      if (!m) this.byLen[c.cidr.prefix] = m = new Map();
      m.set(c.cidr.addr32, c.identity);
    }
    this.lens = [];
    for (let l = 32; l > 0; l--) if (this.byLen[l]) this.lens.push(l);
  }

  /** The security identity Cilium resolves for a peer address. */
  lookup(ip32: number): number {
    const e = this.exact.get(ip32 >>> 0);
    if (e !== undefined) return e;
    for (let i = 0; i < this.lens.length; i++) {
      const l = this.lens[i];
      const id = this.byLen[l]!.get((ip32 & prefixMask(l)) >>> 0);
      if (id !== undefined) return id;
    }
    return ReservedIdentity.WORLD;
  }

  /** Is this address a cluster endpoint (pod or node)? */
  isClusterAddress(ip32: number): boolean {
    return this.exact.has(ip32 >>> 0);
  }
}

/** Identities of CIDR prefixes inside `cidr` and outside every `except` (plus world for 0.0.0.0/0). */
export function cidrIdentitiesSelected(cidrs: readonly CidrIdentity[], cidr: Ipv4Cidr, except: readonly Ipv4Cidr[]): number[] {
  const out: number[] = [];
  if (cidr.prefix === 0) out.push(ReservedIdentity.WORLD);
  for (const c of cidrs) {
    if (c.cidr.prefix < cidr.prefix || !cidrContains(cidr, c.cidr.addr32)) continue;
    if (except.some((e) => c.cidr.prefix >= e.prefix && cidrContains(e, c.cidr.addr32))) continue;
    out.push(c.identity);
  }
  return out;
}
