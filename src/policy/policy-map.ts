/**
 * The per-endpoint eBPF policy map, as an interface the real `policy_v1`/`cilium_policy_v2` map in src/maps/ can
 * back later, plus an in-memory implementation.
 *
 * Layout mirrors bpf/lib/policy.h: key (sec_label u32, egress u8, protocol u8, dport u16) with an LPM prefix over
 * the protocol and dport bits only (0 = any protocol, 8 = protocol with any port, 9..24 = protocol and a
 * masked port range, 24 = one port). sec_label 0 is the wildcard identity, looked up separately.
 */

/** Prefix bits of a protocol-only key and of a full key (LPM_PROTO_PREFIX_BITS / LPM_FULL_PREFIX_BITS). */
export const LPM_PROTO_PREFIX_BITS = 8;
export const LPM_FULL_PREFIX_BITS = 24;
/**
 * A key's PORT/PROTO as `cilium bpf policy get` prints it: `ANY`, `ANY/TCP`, `8080/TCP`, or the masked range
 * `8080-8095/TCP`. `protoName`: the protocol number's name.
 */
export function policyKeyPorts(k: PolicyKey, protoName: (n: number) => string): string {
  if (k.prefixLen === 0) return 'ANY';
  const proto = protoName(k.proto);
  if (k.prefixLen === LPM_PROTO_PREFIX_BITS) return `ANY/${proto}`;
  const bits = LPM_FULL_PREFIX_BITS - k.prefixLen;
  if (bits === 0) return `${k.dport}/${proto}`;
  const first = k.dport & ~((1 << bits) - 1) & 0xffff;
  return `${first}-${first + (1 << bits) - 1}/${proto}`;
}

/** Cilium's default bpf-policy-map-max. */
export const DEFAULT_POLICY_MAP_MAX_ENTRIES = 16384;

export interface PolicyKey {
  identity: number;
  egress: 0 | 1;
  proto: number;
  dport: number;
  /** Prefix length over (proto, dport): 0, 8, or 9..24. */
  prefixLen: number;
}

export interface PolicyValue {
  deny: boolean;
  /** 0 = no redirect; otherwise the L7 proxy's port (host byte order here). */
  proxyPort: number;
  /** Higher wins between the identity and the wildcard lookup (a redirect is 1, a plain allow 0). */
  proxyPortPriority: number;
  prefixLen: number;
}

/** What the datapath needs: one exact-identity LPM lookup (the map holds the key; the caller looks up twice). */
export interface PolicyMapReader {
  readonly maxEntries: number;
  readonly size: number;
  lookup(identity: number, egress: 0 | 1, proto: number, dport: number): PolicyValue | undefined;
  entries(): Iterable<[PolicyKey, PolicyValue]>;
}

export interface PolicyMapWriter extends PolicyMapReader {
  /** false when the map is full (the key is new and size === maxEntries). */
  update(key: PolicyKey, value: PolicyValue): boolean;
  clear(): void;
}

function lpmMask(len: number): number {
  return len === 0 ? 0 : (0xffffff << (LPM_FULL_PREFIX_BITS - len)) & 0xffffff;
}

/**
 * Per (identity, direction) one hash per present prefix length; a lookup probes the lengths present, longest
 * first (at most 25 probes whatever the number of entries: constant cost per packet).
 */
export class InMemoryPolicyMap implements PolicyMapWriter {
  private readonly tables = new Map<number, Map<number, PolicyValue>>();
  /** Prefix lengths present, longest first (shared by every identity: a missing length costs one probe). */
  private lens: number[] = [];
  private readonly lenCount = new Array<number>(LPM_FULL_PREFIX_BITS + 1).fill(0);
  private count = 0;

  constructor(readonly maxEntries: number = DEFAULT_POLICY_MAP_MAX_ENTRIES) {}

  get size(): number {
    return this.count;
  }

  /** identity * 2 + egress: below 2^33, exact in a double. */
  private static tableKey(identity: number, egress: number): number {
    return identity * 2 + egress;
  }

  private static lpmKey(bits: number, len: number): number {
    return (bits & lpmMask(len)) * 32 + len;
  }

  update(key: PolicyKey, value: PolicyValue): boolean {
    const tk = InMemoryPolicyMap.tableKey(key.identity >>> 0, key.egress);
    let t = this.tables.get(tk);
    const lk = InMemoryPolicyMap.lpmKey(((key.proto & 0xff) << 16) | (key.dport & 0xffff), key.prefixLen);
    if (!t?.has(lk)) {
      if (this.count >= this.maxEntries) return false;
      if (!t) this.tables.set(tk, (t = new Map()));
      this.count++;
      if (this.lenCount[key.prefixLen]++ === 0) this.lens = this.lenCount.map((n, l) => (n ? l : -1)).filter((l) => l >= 0).reverse();
    }
    t.set(lk, { ...value, prefixLen: key.prefixLen });
    return true;
  }

  lookup(identity: number, egress: 0 | 1, proto: number, dport: number): PolicyValue | undefined {
    const t = this.tables.get(InMemoryPolicyMap.tableKey(identity >>> 0, egress));
    if (!t) return undefined;
    const bits = ((proto & 0xff) << 16) | (dport & 0xffff);
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const v = t.get(InMemoryPolicyMap.lpmKey(bits, lens[i]));
      if (v !== undefined) return v;
    }
    return undefined;
  }

  *entries(): Iterable<[PolicyKey, PolicyValue]> {
    for (const [tk, t] of this.tables) {
      for (const [lk, v] of t) {
        const len = lk % 32;
        const bits = (lk - len) / 32;
        yield [{ identity: Math.floor(tk / 2), egress: (tk % 2) as 0 | 1, proto: bits >>> 16, dport: bits & 0xffff, prefixLen: len }, v];
      }
    }
  }

  clear(): void {
    this.tables.clear();
    this.lenCount.fill(0);
    this.lens = [];
    this.count = 0;
  }
}

/** A port range as LPM prefixes over 16 bits (Cilium's PortRangeToMaskedPorts): [port, prefixLen16][]. */
export function portRangePrefixes(first: number, last: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let p = first;
  while (p <= last) {
    let size = 16;
    while (size > 0) {
      const block = 1 << (16 - (size - 1));
      if (p % block !== 0 || p + block - 1 > last) break;
      size--;
    }
    out.push([p, size]);
    p += 1 << (16 - size);
  }
  return out;
}
