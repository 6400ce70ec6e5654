import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { MAPS_V1 } from '../../src/maps/cilium-layouts.js';
import type { StructDef } from '../../src/maps/schema.js';

// Golden offsets and sizes of the v1 structs; cross-checked below against fixtures/cilium_layouts.txt, the
// offsetof/sizeof output of Cilium's C structs compiled with gcc (fixtures/cilium_layouts.c).
// Each row: [field, offset, size]. A change here is a layout change: make a _v2 struct instead.
const golden: Record<string, { size: number; fields: [string, number, number][] }> = {
  lb4_key_v1: { size: 12, fields: [['address', 0, 4], ['dport', 4, 2], ['backend_slot', 6, 2], ['proto', 8, 1], ['scope', 9, 1], ['pad', 10, 2]] },
  lb4_service_v1: { size: 12, fields: [['backend_id', 0, 4], ['count', 4, 2], ['rev_nat_index', 6, 2], ['flags', 8, 1], ['flags2', 9, 1], ['pad', 10, 2]] },
  lb4_backend_key_v1: { size: 4, fields: [['backend_id', 0, 4]] },
  lb4_backend_v1: { size: 12, fields: [['address', 0, 4], ['port', 4, 2], ['proto', 6, 1], ['flags', 7, 1], ['cluster_id', 8, 2], ['zone', 10, 1], ['pad', 11, 1]] },
  lb4_reverse_nat_key_v1: { size: 2, fields: [['rev_nat_index', 0, 2]] },
  lb4_reverse_nat_v1: { size: 6, fields: [['address', 0, 4], ['port', 4, 2]] },
  ipv4_ct_tuple_v1: { size: 14, fields: [['daddr', 0, 4], ['saddr', 4, 4], ['dport', 8, 2], ['sport', 10, 2], ['nexthdr', 12, 1], ['flags', 13, 1]] },
  ct_entry_v1: { size: 56, fields: [['rx_packets', 0, 8], ['rx_bytes', 8, 8], ['tx_packets', 16, 8], ['tx_bytes', 24, 8], ['lifetime', 32, 4], ['flags', 36, 2], ['rev_nat_index', 38, 2], ['ifindex', 40, 2], ['tx_flags_seen', 42, 1], ['rx_flags_seen', 43, 1], ['src_sec_id', 44, 4], ['last_tx_report', 48, 4], ['last_rx_report', 52, 4]] },
  policy_key_v1: { size: 12, fields: [['prefixlen', 0, 4], ['sec_label', 4, 4], ['egress', 8, 1], ['protocol', 9, 1], ['dport', 10, 2]] },
  policy_entry_v1: { size: 24, fields: [['proxy_port', 0, 2], ['flags', 2, 1], ['auth_type', 3, 1], ['pad1', 4, 2], ['pad2', 6, 2], ['packets', 8, 8], ['bytes', 16, 8]] },
  ipcache_key_v1: { size: 8, fields: [['prefixlen', 0, 4], ['addr', 4, 4]] },
  remote_endpoint_info_v1: { size: 12, fields: [['sec_identity', 0, 4], ['tunnel_endpoint', 4, 4], ['node_id', 8, 2], ['key', 10, 1], ['flags', 11, 1]] },
};

const structs = new Map<string, StructDef>();
for (const decl of Object.values(MAPS_V1)) {
  structs.set(decl.key.name, decl.key);
  structs.set(decl.value.name, decl.value);
}

describe('v1 map layouts (golden)', () => {
  it('host is little-endian, as the layouts assume for host-order fields', () => expect(endianness()).toBe('LE'));
  it('every struct of MAPS_V1 has a golden row and vice versa', () => {
    expect([...structs.keys()].sort()).toEqual(Object.keys(golden).sort());
  });
  for (const [name, g] of Object.entries(golden)) {
    it(name, () => {
      const s = structs.get(name);
      expect(s).toBeDefined();
      expect(s!.size).toBe(g.size);
      expect(s!.fields.map((f) => [f.name, f.offset, f.size])).toEqual(g.fields);
    });
  }
  it('map names carry _v1 and kinds match Cilium', () => {
    expect(Object.fromEntries(Object.values(MAPS_V1).map((d) => [d.name, d.kind]))).toEqual({
      lb4_services_v1: 'hash', lb4_backends_v1: 'hash', lb4_reverse_nat_v1: 'hash',
      ct4_global_v1: 'lru_hash', policy_v1: 'lpm_trie', ipcache_v1: 'lpm_trie',
    });
  });

  it('agrees with offsetof/sizeof of the Cilium C structs (gcc)', () => {
    const cName: Record<string, string> = { lpm_v4_key: 'ipcache_key_v1' };
    const rows = readFileSync(new URL('./fixtures/cilium_layouts.txt', import.meta.url), 'utf8').trim().split('\n');
    let checked = 0;
    for (const row of rows) {
      const [what, a, b] = row.split(' ');
      const [cs, cf] = what.split('.');
      const s = structs.get(cName[cs] ?? `${cs}_v1`);
      expect(s, row).toBeDefined();
      if (a === 'size') {
        expect(s!.size, row).toBe(Number(b));
      } else {
        const f = s!.fields.find((x) => x.name === cf);
        expect(f, row).toBeDefined();
        expect([f!.offset, f!.size], row).toEqual([Number(a), Number(b)]);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(60);
  });
});
