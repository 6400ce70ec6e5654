import { finishChecksum, ipv4HeaderChecksum, onesSum, pseudoSum4 } from '../../src/packet/checksum.js';

/**
 * THE list of bytes that differ between dpemu and the kernel by design. Everything else in every
 * frame at every observation point must be equal byte for byte. Each entry says why the kernel's
 * value cannot be reproduced and what the test checks instead (see pcaps/README.md, "What an
 * emulator cannot reproduce byte-for-byte").
 *
 * "Node-originated" = an IPv4 header a node's own stack writes: the outer header of a VXLAN packet,
 * and an ICMP error the node sends (frag-needed from 10.0.1.5). Headers written by the pods (the
 * inner datagrams) are replayed from the capture and are never masked.
 */
export const MASKED_FIELDS = [
  {
    field: 'node-originated IPv4 identification (bytes 18-19)',
    why: 'ip_select_ident(): per-(saddr, daddr, proto) hashed counters with a per-boot random key and time-based random increments between bursts',
    check: 'non-zero; where the kernel used consecutive IDs for two successive packets of one node to one destination, dpemu does too',
  },
  {
    field: 'node-originated IPv4 header checksum (bytes 24-25)',
    why: 'covers the identification above',
    check: 'recomputed: valid in dpemu\'s frame (and in the kernel\'s)',
  },
  {
    field: 'VXLAN outer UDP source port (bytes 34-35)',
    why: 'udp_flow_src_port(): the skb hash (a TCP socket\'s random txhash, else a flow hash keyed by a per-boot random seed) mapped into ip_local_port_range',
    check: 'in 32768..60999; frames share a port in dpemu exactly when they share one in the kernel (per flow and direction; symmetric for unconnected UDP and ICMP; every fragment of a datagram alike)',
  },
  {
    field: 'VXLAN outer UDP checksum (bytes 40-41)',
    why: 'covers the source port above (the pseudo-header and the rest are equal)',
    check: 'recomputed: valid and non-zero (udpcsum) in dpemu\'s frame (and in the kernel\'s)',
  },
] as const;

export const OFF = { IP_ID: 18, IP_CSUM: 24, UDP_SPORT: 34, UDP_CSUM: 40 } as const;

const rd16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];

export function isIpv4(f: Uint8Array): boolean {
  return f.length >= 34 && f[12] === 0x08 && f[13] === 0x00;
}

/** An IPv4 packet whose source is one of the nodes' underlay addresses: written by a node's stack. */
export function nodeOriginated(f: Uint8Array, nodeIps: ReadonlySet<number>): boolean {
  return isIpv4(f) && nodeIps.has(((f[26] << 24) | (f[27] << 16) | (f[28] << 8) | f[29]) >>> 0);
}

export function isVxlan(f: Uint8Array, port: number): boolean {
  return isIpv4(f) && f[14] === 0x45 && f[23] === 17 && f.length >= 50 && rd16(f, 36) === port;
}

/** Byte offsets to ignore in this frame (see MASKED_FIELDS). */
export function maskedOffsets(f: Uint8Array, nodeIps: ReadonlySet<number>, vxlanPort: number): Set<number> {
  const m = new Set<number>();
  if (!nodeOriginated(f, nodeIps)) return m;
  for (const o of [OFF.IP_ID, OFF.IP_CSUM]) m.add(o).add(o + 1);
  if (isVxlan(f, vxlanPort)) for (const o of [OFF.UDP_SPORT, OFF.UDP_CSUM]) m.add(o).add(o + 1);
  return m;
}

/** Differences outside the mask, as `offset: dpemu 0x.. kernel 0x..` lines (empty when equal). */
export function diffFrames(dp: Uint8Array, k: Uint8Array, masked: ReadonlySet<number>): string[] {
  const out: string[] = [];
  if (dp.length !== k.length) out.push(`length: dpemu ${dp.length} kernel ${k.length}`);
  const n = Math.min(dp.length, k.length);
  for (let i = 0; i < n && out.length < 8; i++) {
    if (!masked.has(i) && dp[i] !== k[i]) out.push(`byte ${i}: dpemu 0x${dp[i].toString(16).padStart(2, '0')} kernel 0x${k[i].toString(16).padStart(2, '0')}`);
  }
  return out;
}

/** The masked checksums, recomputed: what must hold in any node-originated frame. */
export function maskedChecksumsValid(f: Uint8Array, vxlanPort: number): string[] {
  const bad: string[] = [];
  if (ipv4HeaderChecksum(f, 14, 20) !== rd16(f, OFF.IP_CSUM)) bad.push('IPv4 header checksum');
  if (isVxlan(f, vxlanPort)) {
    const udpLen = rd16(f, 38);
    if (rd16(f, OFF.UDP_CSUM) === 0) bad.push('outer UDP checksum is zero (udpcsum)');
    else if (finishChecksum(onesSum(f, 34, udpLen, pseudoSum4(f, 26, 30, 17, udpLen))) !== 0) bad.push('outer UDP checksum');
  }
  return bad;
}
