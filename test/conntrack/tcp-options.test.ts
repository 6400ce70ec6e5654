/** The TCP option walk conntrack uses (tcp_options, tcp_sack): golden cases and properties over random bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newTcpOptions, readTcpOptions, TCPOPT_PRESENT, TCPOPT_SACK_PERM, TCPOPT_WSCALE } from '../../src/conntrack/tcp-options.js';

const tcpOptionBits = (b: Uint8Array, from: number, to: number): number => readTcpOptions(b, from, to, 0, newTcpOptions()).bits;
const tcpSackEdge = (b: Uint8Array, from: number, to: number, ack: number): number => readTcpOptions(b, from, to, ack, newTcpOptions()).sack;

const opts = (...b: number[]): Uint8Array => Uint8Array.from(b);
const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

describe('tcp_options / tcp_sack', () => {
  it('golden: a Linux SYN (mss, sackOK, TS, nop, wscale 7), clamping, EOL, silly and partial options', () => {
    const syn = opts(2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7);
    expect(tcpOptionBits(syn, 0, syn.length)).toBe(TCPOPT_PRESENT | TCPOPT_SACK_PERM | TCPOPT_WSCALE | 7);
    expect(tcpOptionBits(opts(3, 3, 15), 0, 3)).toBe(TCPOPT_PRESENT | TCPOPT_WSCALE | 14); // TCP_MAX_WSCALE
    expect(tcpOptionBits(opts(0, 4, 2), 0, 3)).toBe(TCPOPT_PRESENT); // EOL first: nothing after it counts
    expect(tcpOptionBits(opts(4, 1, 4, 2), 0, 4)).toBe(TCPOPT_PRESENT); // length 1 is silly: stop
    expect(tcpOptionBits(opts(1, 3, 4, 7), 0, 4)).toBe(TCPOPT_PRESENT); // a wscale running past the header
    expect(tcpOptionBits(opts(), 0, 0)).toBe(0); // no options: the state is kept
  });

  it('golden: the first SACK option\'s highest right edge after ack, with wraparound', () => {
    const ack = 0xfffff000;
    const two = opts(1, 1, 5, 18, ...be32(0xfffff100), ...be32(0xfffff200), ...be32(0x10), ...be32(0x20));
    expect(tcpSackEdge(two, 0, two.length, ack)).toBe(0x20); // 0x20 is after 0xfffff200 in sequence space
    const behind = opts(5, 10, ...be32(ack - 200), ...be32(ack - 100));
    expect(tcpSackEdge(behind, 0, behind.length, ack)).toBe(ack); // edges before ack leave it
    const second = opts(5, 10, ...be32(ack + 1), ...be32(ack + 5), 5, 10, ...be32(ack + 10), ...be32(ack + 50));
    expect(tcpSackEdge(second, 0, second.length, ack)).toBe(ack + 5); // only the first SACK option is read
    const badLen = opts(5, 12, ...be32(ack + 1), ...be32(ack + 5), 0, 0);
    expect(tcpSackEdge(badLen, 0, badLen.length, ack)).toBe(ack); // (12 - 2) % 8 != 0: not a SACK option
  });

  it('property: only bytes [from, to) are read, whatever surrounds them', () => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 8, maxLength: 8 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (body, before, after, ack) => {
        const a = Uint8Array.from([...before, ...body, ...after]);
        const b = Uint8Array.from([...before.map((x) => x ^ 0xff), ...body, ...after.map((x) => x ^ 0x5a)]);
        const from = before.length;
        const to = from + body.length;
        expect(tcpOptionBits(a, from, to)).toBe(tcpOptionBits(b, from, to));
        expect(tcpSackEdge(a, from, to, ack)).toBe(tcpSackEdge(b, from, to, ack));
      },
    ), { numRuns: 2000 });
  });

  it('property: the SACK edge is ack or a right edge present in the bytes, never before ack', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 0, max: 0xffffffff }), (body, ack) => {
      const edge = tcpSackEdge(body, 0, body.length, ack);
      expect(((edge - ack) | 0) >= 0).toBe(true);
      if (edge !== ack) {
        const words = new Set<number>();
        for (let i = 0; i + 4 <= body.length; i++) words.add(((body[i]! << 24) | (body[i + 1]! << 16) | (body[i + 2]! << 8) | body[i + 3]!) >>> 0);
        expect(words.has(edge)).toBe(true);
      }
    }), { numRuns: 2000 });
  });
});
