import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as C from '../../src/conntrack/index.js';
import { table } from './helpers.js';

const pkt = fc.record({
  proto: fc.constantFrom(C.IPPROTO_TCP, C.IPPROTO_UDP, C.IPPROTO_ICMP, 47),
  fromA: fc.boolean(),
  port: fc.integer({ min: 0, max: 3 }),
  flags: fc.integer({ min: 0, max: 255 }),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  ack: fc.integer({ min: 0, max: 0xffffffff }),
  len: fc.integer({ min: 0, max: 1500 }),
  dt: fc.double({ min: 0, max: 200, noNaN: true }),
  nat: fc.boolean(),
  confirm: fc.boolean(),
  gc: fc.boolean(),
});

describe('property: random packet sequences', () => {
  it('never throw, keep states in the enum and the count consistent', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(pkt, { maxLength: 120, size: 'max' }), (max, pkts) => {
      const t = table(max);
      let now = 0;
      for (const p of pkts) {
        now += p.dt;
        const [s, d] = p.fromA ? [1, 2] : [2, 1];
        const sp = p.proto === C.IPPROTO_ICMP ? 7 : p.fromA ? 1000 + p.port : 80;
        const dp = p.proto === C.IPPROTO_ICMP ? C.icmpPort(p.flags % 20, 0) : p.fromA ? 80 : 1000 + p.port;
        const n = t.track(p.proto, 0, s, d, sp, dp, now, p.flags, p.seq, p.ack, 1000, p.len);
        expect(n === C.CT_INVALID || n === C.CT_TABLE_FULL || (n >= 0 && n < 2 * max)).toBe(true);
        if (n >= 0 && t.isLive(n >> 1)) {
          if (p.nat && !t.isConfirmed(n >> 1)) t.dnat(n >> 1, 3, 8080);
          if (p.confirm) t.confirm(n >> 1, now);
        }
        if (p.gc) t.gc(now, 3);
        expect(t.count).toBeGreaterThanOrEqual(0);
        expect(t.count).toBeLessThanOrEqual(max);
        let live = 0;
        for (let e = 0; e < max; e++) {
          if (!t.isLive(e)) continue;
          live++;
          expect(t.tcpState[e]).toBeLessThan(C.TCP_CONNTRACK_MAX);
          if (t.isConfirmed(e)) {
            // both directions are findable and point back to this entry
            const o = e * 2;
            const f = t.lookup(t.proto[e]!, t.zone[e]!, t.tSrc[o]!, t.tDst[o]!, t.tSport[o]!, t.tDport[o]!, -1e9);
            expect(f).toBe(o);
            expect(() => C.formatConntrack(t, e, now)).not.toThrow();
          }
        }
        expect(live).toBe(t.count);
      }
    }), { numRuns: 300 });
  });
});
