/**
 * Internet checksums (RFC 1071) and incremental update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
 * Sums are kept unfolded in a JS number (safe far beyond any frame size) and folded at the end.
 */
import { L3Kind, type LayerView } from './view.js';

export const ChecksumStatus = { GOOD: 0, BAD: 1, NOT_CHECKABLE: 2 } as const;
export type ChecksumStatusValue = (typeof ChecksumStatus)[keyof typeof ChecksumStatus];

/** Unfolded one's-complement sum of `len` bytes at `off` (odd length padded with a zero byte), plus `initial`. */
export function onesSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let s = initial;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) s += (buf[i] << 8) | buf[i + 1];
  if (len & 1) s += buf[off + len - 1] << 8;
  return s;
}

/** Fold an unfolded sum to 16 bits (no complement). */
export function foldSum(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** Checksum field value (complemented, folded) for an unfolded sum. */
export function finishChecksum(s: number): number {
  return ~foldSum(s) & 0xffff;
}

/** IPv4 header checksum to store: computed over `ihl` bytes with the checksum field taken as zero. */
export function ipv4HeaderChecksum(buf: Uint8Array, off: number, ihl: number): number {
  const stored = (buf[off + 10] << 8) | buf[off + 11];
  return finishChecksum(onesSum(buf, off, ihl) - stored);
}

/** Pseudo-header sum for IPv4 (RFC 793/768): src, dst, zero+protocol, L4 length. */
export function pseudoSum4(buf: Uint8Array, srcOff: number, dstOff: number, proto: number, l4Len: number): number {
  return onesSum(buf, srcOff, 4) + onesSum(buf, dstOff, 4) + proto + (l4Len & 0xffff) + Math.floor(l4Len / 0x10000);
}

/** Pseudo-header sum for IPv6 (RFC 8200 8.1): src, dst, 32-bit upper-layer length, next header. */
export function pseudoSum6(buf: Uint8Array, srcOff: number, dstOff: number, nextHeader: number, l4Len: number): number {
  return onesSum(buf, srcOff, 16) + onesSum(buf, dstOff, 16) + nextHeader + (l4Len & 0xffff) + Math.floor(l4Len / 0x10000);
}

/** Offset of the 16-bit checksum field inside an L4 header, or -1 for protocols without one here. */
export function l4ChecksumFieldOffset(proto: number): number {
  return proto === 6 ? 16 : proto === 17 ? 6 : proto === 1 || proto === 58 ? 2 : -1;
}

/**
 * L4 length the checksum covers (UDP: UDP length; others: IP payload after extension headers), or -1 if the
 * datagram is not entirely captured (snaplen) or is a fragment.
 */
function l4CoveredLength(buf: Uint8Array, L: LayerView): number {
  if (L.l4Offset < 0 || L.ipIsFragment !== 0) return -1;
  const dgramEnd = L.l3Offset + L.ipTotalLen;
  if (dgramEnd > L.ipEnd || dgramEnd > buf.length) return -1;
  if (L.l4Proto === 17) return L.udpLength >= 8 && L.l4Offset + L.udpLength <= dgramEnd ? L.udpLength : -1;
  return dgramEnd - L.l4Offset;
}

/** Unfolded sum of pseudo-header + L4 bytes with the checksum field counted as zero; -1 if not computable. */
function l4Sum(buf: Uint8Array, L: LayerView): number {
  const len = l4CoveredLength(buf, L);
  const fo = l4ChecksumFieldOffset(L.l4Proto);
  if (len < 0 || fo < 0 || len < fo + 2) return -1;
  let s = onesSum(buf, L.l4Offset, len);
  s -= (buf[L.l4Offset + fo] << 8) | buf[L.l4Offset + fo + 1];
  if (L.l4Proto === 1) return s; // ICMPv4 has no pseudo-header
  if (L.l3Kind === L3Kind.IPV4) s += pseudoSum4(buf, L.srcAddrOffset, L.dstAddrOffset, L.l4Proto, len);
  else s += pseudoSum6(buf, L.srcAddrOffset, L.dstAddrOffset, L.l4Proto, len);
  return s;
}

/**
 * The TCP/UDP/ICMP/ICMPv6 checksum value to store for a parsed layer (-1 if not computable).
 * UDP: a computed 0 is sent as 0xffff (RFC 768), since 0 means "no checksum" over IPv4.
 */
export function computeL4Checksum(buf: Uint8Array, L: LayerView): number {
  const s = l4Sum(buf, L);
  if (s < 0) return -1;
  const c = finishChecksum(s);
  return L.l4Proto === 17 && c === 0 ? 0xffff : c;
}

/** Verify the IPv4 header checksum of a parsed layer. */
export function verifyIpv4Header(buf: Uint8Array, L: LayerView): ChecksumStatusValue {
  if (L.l3Kind !== L3Kind.IPV4 || L.l3Offset + L.ipHeaderLen > buf.length || L.l3Offset + L.ipHeaderLen > L.ipEnd) {
    return ChecksumStatus.NOT_CHECKABLE;
  }
  return foldSum(onesSum(buf, L.l3Offset, L.ipHeaderLen)) === 0xffff ? ChecksumStatus.GOOD : ChecksumStatus.BAD;
}

/** Verify the L4 checksum: NOT_CHECKABLE if the datagram is not fully captured, a fragment, or UDP/IPv4 checksum 0. */
export function verifyL4(buf: Uint8Array, L: LayerView): ChecksumStatusValue {
  if (L.l4Proto === 17 && L.l4Checksum === 0 && L.l3Kind === L3Kind.IPV4) return ChecksumStatus.NOT_CHECKABLE;
  const s = l4Sum(buf, L);
  if (s < 0) return ChecksumStatus.NOT_CHECKABLE;
  return foldSum(s + L.l4Checksum) === 0xffff ? ChecksumStatus.GOOD : ChecksumStatus.BAD;
}

/** RFC 1624 eqn. 3 for one 16-bit field changing from `oldWord` to `newWord`. */
export function csumUpdate16(hc: number, oldWord: number, newWord: number): number {
  return finishChecksum((~hc & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff));
}

/** RFC 1624 for a 32-bit field (IPv4 address) changing from `old32` to `new32` (unsigned numbers). */
export function csumUpdate32(hc: number, old32: number, new32: number): number {
  const o = old32 >>> 0;
  const n = new32 >>> 0;
  return finishChecksum(
    (~hc & 0xffff) + (~(o >>> 16) & 0xffff) + (~o & 0xffff) + (n >>> 16) + (n & 0xffff),
  );
}

/**
 * UDP flavour of csumUpdate16/32: a stored 0 means "no checksum" (IPv4) and stays 0; a result of 0 is
 * written as 0xffff (both are the same one's-complement value).
 */
export function udpCsumUpdate16(hc: number, oldWord: number, newWord: number): number {
  if (hc === 0) return 0;
  const r = csumUpdate16(hc, oldWord, newWord);
  return r === 0 ? 0xffff : r;
}

export function udpCsumUpdate32(hc: number, old32: number, new32: number): number {
  if (hc === 0) return 0;
  const r = csumUpdate32(hc, old32, new32);
  return r === 0 ? 0xffff : r;
}
