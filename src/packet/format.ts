/** Text forms of addresses, as tshark prints them. Not for the hot path (they build strings). */

const HEX = '0123456789abcdef';

/** `aa:bb:cc:dd:ee:ff` from 6 bytes at `off`. */
export function macToString(buf: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const x = buf[off + i];
    s += (i ? ':' : '') + HEX[x >> 4] + HEX[x & 15];
  }
  return s;
}

/** Dotted quad from an unsigned 32-bit number. */
export function ipv4ToString(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Dotted quad from 4 bytes at `off`. */
export function ipv4BytesToString(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/**
 * IPv6 text per RFC 5952 (lower case, no leading zeros, the longest run of two or more zero groups as `::`,
 * the first on a tie), with the embedded-IPv4 forms (`::ffff:a.b.c.d`, `::a.b.c.d`) that tshark's
 * inet_ntop-derived formatter prints.
 */
export function ipv6ToString(buf: Uint8Array, off: number): string {
  const w = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) w[i] = (buf[off + 2 * i] << 8) | buf[off + 2 * i + 1];
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase < 0) { curBase = i; curLen = 1; } else curLen++;
      if (curLen > bestLen) { bestBase = curBase; bestLen = curLen; }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 7 && w[7] !== 1) || (bestLen === 5 && w[5] === 0xffff))) {
      s += ipv4BytesToString(buf, off + 12);
      break;
    }
    s += w[i].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}

/** `0x` + zero-padded lower-case hex, as tshark prints hex fields. */
export function hex(n: number, digits: number): string {
  return '0x' + n.toString(16).padStart(digits, '0');
}

/** Parse `aa:bb:cc:dd:ee:ff` (or `-` separated) into 6 bytes. Throws RangeError on bad text (not a hot path). */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6) throw new RangeError(`bad MAC address: ${s}`);
  return Uint8Array.from(parts.map((p) => {
    const n = parseInt(p, 16);
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) throw new RangeError(`bad MAC address: ${s}`);
    return n;
  }));
}

/** Parse a dotted quad into an unsigned 32-bit number. */
export function parseIpv4(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new RangeError(`bad IPv4 address: ${s}`);
  }
  return ((Number(parts[0]) << 24) | (Number(parts[1]) << 16) | (Number(parts[2]) << 8) | Number(parts[3])) >>> 0;
}

/** Parse IPv6 text (with `::` and an optional trailing dotted quad) into 16 bytes. */
export function parseIpv6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = s;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Trailing dotted quad (::ffff:1.2.3.4): rewrite as two hex words.
    const v4 = parseIpv4(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new RangeError(`bad IPv6 address: ${s}`);
  const toWords = (h: string): number[] => (h === '' ? [] : h.split(':').map((w) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw new RangeError(`bad IPv6 address: ${s}`);
    return parseInt(w, 16);
  }));
  const head = toWords(halves[0]);
  const rest = halves.length === 2 ? toWords(halves[1]) : [];
  if (halves.length === 2 && head.length + rest.length > 7) throw new RangeError(`bad IPv6 address: ${s}`);
  const words = halves.length === 2
    ? [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest]
    : head;
  if (words.length !== 8) {
    throw new RangeError(`bad IPv6 address: ${s}`);
  }
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 255;
  }
  return out;
}
