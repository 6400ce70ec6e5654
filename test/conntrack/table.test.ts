import { describe, expect, it } from 'vitest';
import * as C from '../../src/conntrack/index.js';
import { A as ACK, S, ip, table } from './helpers.js';

const CLI = ip('10.244.1.5');
const VIP = ip('10.96.5.20');
const POD = ip('10.244.3.9');

function udpEntry(t: C.ConntrackTable, sport: number, now: number): number {
  const n = t.track(C.IPPROTO_UDP, 0, CLI, POD, sport, 53, now);
  if (n < 0) return n;
  return t.confirm(n >> 1, now);
}

describe('expiry in packet time', () => {
  it('lookups treat expired entries as absent and reap them', () => {
    const t = table();
    udpEntry(t, 1000, 0);
    expect(t.lookup(C.IPPROTO_UDP, 0, CLI, POD, 1000, 53, 29.999)).toBe(0);
    expect(t.lookup(C.IPPROTO_UDP, 0, CLI, POD, 1000, 53, 30)).toBe(-1);
    expect(t.count).toBe(0);
    expect(t.stats.expired).toBe(1);
  });

  it('gc() reaps with bounded work per call', () => {
    const t = table(64);
    for (let i = 0; i < 40; i++) udpEntry(t, 2000 + i, 0);
    expect(t.gc(10, 64)).toBe(0);
    expect(t.gc(31, 16)).toBe(16);
    expect(t.count).toBe(24);
    let calls = 0;
    while (t.count > 0 && calls < 10) { t.gc(31, 16); calls++; }
    expect(t.count).toBe(0);
    expect(t.entries(31)).toEqual([]);
  });
});

describe('table full', () => {
  it('early-drops non-ASSURED entries to make room (early_drop counted)', () => {
    const t = table(4);
    for (let i = 0; i < 4; i++) expect(udpEntry(t, 3000 + i, 0)).toBeGreaterThanOrEqual(0);
    expect(t.count).toBe(4);
    const e = udpEntry(t, 4000, 1);
    expect(e).toBeGreaterThanOrEqual(0);
    expect(t.stats.early_drop).toBeGreaterThan(0);
    expect(t.count).toBeLessThanOrEqual(4);
    expect(t.stats.drop).toBe(0);
  });

  it('refuses with CT_TABLE_FULL when every entry is ASSURED (drop counted)', () => {
    const t = table(4);
    for (let i = 0; i < 4; i++) {
      const sp = 3000 + i;
      udpEntry(t, sp, 0);
      t.track(C.IPPROTO_UDP, 0, POD, CLI, 53, sp, 0.1);
      t.track(C.IPPROTO_UDP, 0, CLI, POD, sp, 53, 3);
      expect(t.status[i]! & C.IPS_ASSURED).toBeTruthy();
    }
    expect(t.track(C.IPPROTO_UDP, 0, CLI, POD, 5000, 53, 4)).toBe(C.CT_TABLE_FULL);
    expect(t.stats.drop).toBe(1);
    expect(t.stats.early_drop).toBe(0);
    expect(t.count).toBe(4);
  });

  it('ASSURED TCP entries in closing states may be early-dropped (tcp_can_early_drop)', () => {
    const t = table(1);
    const n = t.track(C.IPPROTO_TCP, 0, CLI, POD, 1, 80, 0, S, 1, 0, 100, 0);
    t.confirm(n >> 1, 0);
    t.track(C.IPPROTO_TCP, 0, POD, CLI, 80, 1, 0, S | ACK, 9, 2, 100, 0);
    t.track(C.IPPROTO_TCP, 0, CLI, POD, 1, 80, 0, ACK, 2, 10, 100, 0);
    expect(t.status[0]! & C.IPS_ASSURED).toBeTruthy();
    expect(t.track(C.IPPROTO_TCP, 0, CLI, POD, 2, 80, 1, S, 1, 0, 100, 0)).toBe(C.CT_TABLE_FULL);
    t.track(C.IPPROTO_TCP, 0, CLI, POD, 1, 80, 2, 0x11, 2, 10, 100, 0); // FIN/ACK -> FIN_WAIT
    expect(t.track(C.IPPROTO_TCP, 0, CLI, POD, 2, 80, 3, S, 1, 0, 100, 0)).toBe(0);
    expect(t.stats.early_drop).toBe(1);
  });
});

describe('NAT and confirm', () => {
  it('DNAT rewrites the reply tuple; the backend reply is found in REPLY direction', () => {
    const t = table();
    const n = t.track(C.IPPROTO_TCP, 0, CLI, VIP, 40006, 80, 0, S, 1, 0, 100, 0);
    expect(t.dnat(n >> 1, POD, 8080)).toBe(true);
    expect(t.confirm(n >> 1, 0)).toBe(0);
    expect(t.status[0]! & (C.IPS_DST_NAT | C.IPS_DST_NAT_DONE | C.IPS_CONFIRMED)).toBe(C.IPS_DST_NAT | C.IPS_DST_NAT_DONE | C.IPS_CONFIRMED);
    expect(t.lookup(C.IPPROTO_TCP, 0, POD, CLI, 8080, 40006, 0.1)).toBe(1);
    expect(t.lookup(C.IPPROTO_TCP, 0, VIP, CLI, 80, 40006, 0.1)).toBe(-1);
    // SNAT after confirm re-indexes the hashed reply tuple
    expect(t.snat(0, ip('10.0.0.1'), 61000)).toBe(true);
    expect(t.lookup(C.IPPROTO_TCP, 0, POD, ip('10.0.0.1'), 8080, 61000, 0.2)).toBe(1);
    expect(t.lookup(C.IPPROTO_TCP, 0, POD, CLI, 8080, 40006, 0.2)).toBe(-1);
  });

  it('confirm clash: second entry for the same tuple fails (insert_failed) and is freed', () => {
    const t = table();
    const a = t.create(C.IPPROTO_UDP, 0, CLI, POD, 1, 53, 0);
    const b = t.create(C.IPPROTO_UDP, 0, CLI, POD, 1, 53, 0);
    expect(t.confirm(a, 0)).toBe(a);
    expect(t.confirm(b, 0)).toBe(C.CT_CLASH);
    expect(t.stats.insert).toBe(1);
    expect(t.stats.insert_failed).toBe(1);
    expect(t.count).toBe(1);
  });

  it('zones separate identical tuples', () => {
    const t = table();
    const a = t.track(C.IPPROTO_UDP, 0, CLI, POD, 1, 53, 0);
    t.confirm(a >> 1, 0);
    expect(t.lookup(C.IPPROTO_UDP, 1, CLI, POD, 1, 53, 0)).toBe(-1);
    const b = t.track(C.IPPROTO_UDP, 1, CLI, POD, 1, 53, 0);
    expect(t.confirm(b >> 1, 0)).toBe(b >> 1);
    expect(t.count).toBe(2);
  });
});

describe('layout', () => {
  it('stays within 256 bytes per entry', () => {
    for (const max of [1, 1000, 262144]) {
      const bpe = table(max).bytesPerEntry();
      expect(bpe).toBeLessThanOrEqual(256);
      expect(bpe).toBeGreaterThanOrEqual(99);
    }
  });
});
