/**
 * Tiny pcap/pcapng reader for the packet tests only, so they do not depend on src/capture's progress.
 * It also reports pcapng Custom Blocks, which tshark 4.0 counts as frames (see corpus SOURCES.md).
 * Any structural problem ends the file (returns the frames read so far).
 */
export interface MiniFrame {
  data: Uint8Array;
  caplen: number;
  wireLen: number;
  linkType: number;
  /** true for a pcapng Custom Block row (tshark shows it as a frame with no protocol fields). */
  custom: boolean;
}

export function readCapture(bytes: Uint8Array): MiniFrame[] {
  const out: MiniFrame[] = [];
  if (bytes.length < 4) return out;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = dv.getUint32(0, true);
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xd4c3b2a1 || m === 0x4d3cb2a1) {
    const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
    if (bytes.length < 24) return out;
    const major = dv.getUint16(4, le);
    if (major !== 2) return out;
    const linkType = dv.getUint32(20, le) & 0xffff;
    let p = 24;
    while (p + 16 <= bytes.length) {
      const incl = dv.getUint32(p + 8, le);
      const orig = dv.getUint32(p + 12, le);
      if (p + 16 + incl > bytes.length) break;
      if (incl > 0x40000) break;
      out.push({ data: bytes.subarray(p + 16, p + 16 + incl), caplen: incl, wireLen: orig, linkType, custom: false });
      p += 16 + incl;
    }
    return out;
  }
  if (m !== 0x0a0d0d0a) return out;
  let p = 0;
  let le = true;
  let ifaces: number[] = [];
  while (p + 12 <= bytes.length) {
    let type = dv.getUint32(p, le);
    if (type === 0x0a0d0d0a) {
      const bom = dv.getUint32(p + 8, true);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else return out;
      if (dv.getUint16(p + 12, le) !== 1) return out;
      ifaces = [];
      type = 0x0a0d0d0a;
    }
    const len = dv.getUint32(p + 4, le);
    if (len < 12 || len % 4 !== 0 || p + len > bytes.length) return out;
    if (type === 1) {
      ifaces.push(dv.getUint16(p + 8, le));
    } else if (type === 6 || type === 2) {
      const ifId = type === 6 ? dv.getUint32(p + 8, le) : dv.getUint16(p + 8, le);
      const cap = dv.getUint32(p + 20, le);
      const orig = dv.getUint32(p + 24, le);
      if (28 + cap > len) return out;
      out.push({ data: bytes.subarray(p + 28, p + 28 + cap), caplen: cap, wireLen: orig, linkType: ifaces[ifId] ?? -1, custom: false });
    } else if (type === 3) {
      const orig = dv.getUint32(p + 8, le);
      const cap = Math.min(orig, len - 16);
      out.push({ data: bytes.subarray(p + 12, p + 12 + cap), caplen: cap, wireLen: orig, linkType: ifaces[0] ?? -1, custom: false });
    } else if (type === 0x00000bad || type === 0x40000bad) {
      out.push({ data: bytes.subarray(p + 8, p + len - 4), caplen: len - 16, wireLen: len - 16, linkType: -1, custom: true });
    }
    p += len;
  }
  return out;
}
