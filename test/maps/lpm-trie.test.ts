import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BPF_EXIST, BPF_NOEXIST, EEXIST, EINVAL, ENOENT, ENOSPC, MapSpecError } from '../../src/maps/errors.js';
import { LpmTrieMap } from '../../src/maps/lpm-trie.js';
import { ipcacheKeyV1, remoteEndpointInfoV1, policyKeyV1, policyEntryV1, POLICY_FULL_PREFIX } from '../../src/maps/cilium-layouts.js';
import { defineStruct } from '../../src/maps/schema.js';

const K = ipcacheKeyV1;
const V = remoteEndpointInfoV1;

function ip(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
function pfx(cidr: string): Uint8Array {
  const [a, l] = cidr.split('/');
  return K.encode({ prefixlen: Number(l), addr: ip(a) });
}
function host(a: string): Uint8Array {
  return K.encode({ prefixlen: 32, addr: ip(a) });
}
function ipcache(max = 64): LpmTrieMap {
  return new LpmTrieMap({ name: 'ipcache_v1', key: K, value: V, maxEntries: max });
}
function identityOf(m: LpmTrieMap, a: string): number | undefined {
  const off = m.lookup(host(a));
  return off < 0 ? undefined : V.get.sec_identity(m.bytes, off);
}

describe('LpmTrieMap (ipcache_v1)', () => {
  it('longest prefix wins, including /0 and /32', () => {
    const m = ipcache();
    expect(m.update(pfx('0.0.0.0/0'), V.encode({ sec_identity: 2 }))).toBe(0); // world
    expect(m.update(pfx('10.0.0.0/8'), V.encode({ sec_identity: 8 }))).toBe(0);
    expect(m.update(pfx('10.0.1.0/24'), V.encode({ sec_identity: 24, tunnel_endpoint: ip('192.168.0.2') }))).toBe(0);
    expect(m.update(pfx('10.0.1.7/32'), V.encode({ sec_identity: 32 }))).toBe(0);
    expect(identityOf(m, '10.0.1.7')).toBe(32);
    expect(identityOf(m, '10.0.1.8')).toBe(24);
    expect(identityOf(m, '10.9.9.9')).toBe(8);
    expect(identityOf(m, '8.8.8.8')).toBe(2);
    expect(identityOf(m, '255.255.255.255')).toBe(2);
    const off = m.lookup(host('10.0.1.200'));
    expect(V.format(m.bytes, off)).toBe('sec_identity=24 tunnel_endpoint=192.168.0.2 node_id=0 key=0 flags=0');
    expect(m.delete(pfx('0.0.0.0/0'))).toBe(0);
    expect(identityOf(m, '8.8.8.8')).toBeUndefined();
    expect(m.delete(pfx('10.0.1.0/24'))).toBe(0);
    expect(identityOf(m, '10.0.1.8')).toBe(8);
    expect(identityOf(m, '10.0.1.7')).toBe(32);
  });

  it('bits beyond the prefix length are ignored; flags and errors follow the kernel', () => {
    const m = ipcache();
    expect(m.update(pfx('10.1.2.3/16'), V.encode({ sec_identity: 16 }))).toBe(0);
    expect(identityOf(m, '10.1.200.1')).toBe(16);
    expect(m.update(pfx('10.1.0.0/16'), V.encode({ sec_identity: 17 }), BPF_NOEXIST)).toBe(EEXIST);
    expect(m.update(pfx('10.1.0.0/16'), V.encode({ sec_identity: 17 }), BPF_EXIST)).toBe(0);
    expect(identityOf(m, '10.1.200.1')).toBe(17);
    expect(m.update(pfx('10.2.0.0/16'), V.encode({}), BPF_EXIST)).toBe(ENOENT);
    expect(m.update(K.encode({ prefixlen: 33, addr: 0 }), V.encode({}))).toBe(EINVAL);
    expect(m.delete(pfx('10.1.0.0/17'))).toBe(ENOENT);
  });

  it('a full trie refuses a new prefix with ENOSPC and counts it', () => {
    const m = ipcache(3);
    expect(m.update(pfx('10.0.0.0/8'), V.encode({ sec_identity: 1 }))).toBe(0);
    expect(m.update(pfx('11.0.0.0/8'), V.encode({ sec_identity: 2 }))).toBe(0);
    expect(m.update(pfx('12.0.0.0/8'), V.encode({ sec_identity: 3 }))).toBe(0);
    expect(m.update(pfx('13.0.0.0/8'), V.encode({ sec_identity: 4 }))).toBe(ENOSPC);
    expect(m.update(pfx('10.0.0.0/8'), V.encode({ sec_identity: 5 }))).toBe(0);
    expect(m.stats()).toMatchObject({ full: 1, inserts: 3, updates: 1 });
  });

  it('needs a prefixlen-first key', () => {
    const bad = defineStruct('bad_key_v1', [['addr', 'u32be'], ['prefixlen', 'u32']]);
    expect(() => new LpmTrieMap({ name: 'x_v1', key: bad, value: V, maxEntries: 4 })).toThrowError(MapSpecError);
  });

  it('matches a linear longest-prefix model under random insert/delete/lookup (fast-check)', () => {
    const cidr = fc.record({ addr: fc.integer({ min: 0, max: 0xffffffff }), len: fc.integer({ min: 0, max: 32 }) })
      .map(({ addr, len }) => ({ addr: len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0, len }));
    // Cluster addresses so prefixes nest and share bits.
    const near = fc.integer({ min: 0, max: 0xffff }).map((x) => (0x0a000000 | (x << 4)) >>> 0);
    const op = fc.oneof(
      fc.record({ t: fc.constant('put' as const), c: cidr, v: fc.nat() }),
      fc.record({ t: fc.constant('put' as const), c: fc.record({ addr: near, len: fc.integer({ min: 8, max: 32 }) }).map(({ addr, len }) => ({ addr: (addr & (0xffffffff << (32 - len))) >>> 0, len })), v: fc.nat() }),
      fc.record({ t: fc.constant('del' as const), c: cidr }),
      fc.record({ t: fc.constant('get' as const), a: fc.oneof(near, fc.integer({ min: 0, max: 0xffffffff })) }),
    );
    // size 'max': at fast-check's default size the arrays stay near a dozen ops and the trie never fills.
    let full = 0;
    fc.assert(fc.property(fc.array(op, { maxLength: 200, size: 'max' }), (ops) => {
      const max = 40;
      const m = ipcache(max);
      const model = new Map<string, { addr: number; len: number; v: number }>();
      const id = (c: { addr: number; len: number }) => `${c.addr}/${c.len}`;
      const match = (a: number) => {
        let best: { len: number; v: number } | undefined;
        for (const e of model.values()) {
          const mask = e.len === 0 ? 0 : (0xffffffff << (32 - e.len)) >>> 0;
          if (((a & mask) >>> 0) === e.addr && (!best || e.len > best.len)) best = e;
        }
        return best?.v;
      };
      for (const o of ops) {
        if (o.t === 'put') {
          const rc = m.update(K.encode({ prefixlen: o.c.len, addr: o.c.addr }), V.encode({ sec_identity: o.v }));
          if (model.has(id(o.c)) || model.size < max) {
            expect(rc).toBe(0);
            model.set(id(o.c), { ...o.c, v: o.v });
          } else {
            expect(rc).toBe(ENOSPC);
            full++;
          }
        } else if (o.t === 'del') {
          expect(m.delete(K.encode({ prefixlen: o.c.len, addr: o.c.addr }))).toBe(model.delete(id(o.c)) ? 0 : ENOENT);
        } else {
          const off = m.lookup(K.encode({ prefixlen: 32, addr: o.a }));
          expect(off < 0 ? undefined : V.get.sec_identity(m.bytes, off)).toBe(match(o.a));
        }
        expect(m.count).toBe(model.size);
      }
      const dumped = [...m.entries()].map((e) => { const k = K.decode(e.key); return `${k.addr}/${k.prefixlen}`; }).sort();
      expect(dumped).toEqual([...model.keys()].sort());
    }), { numRuns: 300 });
    expect(full).toBeGreaterThan(0);
  });
});

describe('LpmTrieMap (policy_v1): Cilium wildcarding of protocol and port', () => {
  it('an exact port entry beats a protocol-wide entry, which beats an L3-only entry', () => {
    const m = new LpmTrieMap({ name: 'policy_v1', key: policyKeyV1, value: policyEntryV1, maxEntries: 16 });
    const k = (prefixlen: number, protocol: number, dport: number) => policyKeyV1.encode({ prefixlen, sec_label: 1234, egress: 0, protocol, dport });
    // sec_label + egress = 40 bits; + protocol = 48; + dport = 64 (POLICY_FULL_PREFIX).
    expect(m.update(k(40, 0, 0), policyEntryV1.encode({ proxy_port: 0 }))).toBe(0);
    expect(m.update(k(48, 6, 0), policyEntryV1.encode({ proxy_port: 1 }))).toBe(0);
    expect(m.update(k(POLICY_FULL_PREFIX, 6, 80), policyEntryV1.encode({ proxy_port: 15001 }))).toBe(0);
    const q = (protocol: number, dport: number) => {
      const off = m.lookup(k(POLICY_FULL_PREFIX, protocol, dport));
      return off < 0 ? -1 : policyEntryV1.get.proxy_port(m.bytes, off);
    };
    expect(q(6, 80)).toBe(15001);
    expect(q(6, 443)).toBe(1);
    expect(q(17, 53)).toBe(0);
  });
});
