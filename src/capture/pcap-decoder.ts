import { u16, u32, u32le, u32be } from './bytes.js';
import type { RecordDecoder } from './decoder.js';
import { CaptureFileError } from './errors.js';
import type { FrameBatch } from './frame-batch.js';
import type { CaptureInterface } from './types.js';

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
/**
 * Alexey Kuznetsov's patched libpcap (`editcap -F modpcap`, old Red Hat tcpdump): microseconds, and 8 more bytes per
 * record header (ifindex, protocol, pkt_type, pad) after the usual 16. libpcap and Wireshark read it.
 */
export const PCAP_MAGIC_KUZNETSOV = 0xa1b2cd34;
const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const KUZNETSOV_RECORD_HEADER_LEN = 24;

/** True for the magic numbers of the pcap family (either byte order of `u32`). */
export function isPcapMagic(m: number): boolean {
  return m === PCAP_MAGIC_USEC || m === PCAP_MAGIC_NSEC || m === PCAP_MAGIC_KUZNETSOV;
}

/** libpcap's max_snaplen_for_dlt (pcap-common.c): a larger caplen means a damaged or fuzzed file. */
export function maxSnaplenForLinkType(linkType: number): number {
  switch (linkType) {
    case 231: // DBUS
      return 128 * 1024 * 1024;
    case 279: // EBHSCR
      return 8 * 1024 * 1024;
    case 249: // USBPCAP
      return 1024 * 1024;
    default:
      return 262144;
  }
}

/** Decodes classic libpcap files (pcap-savefile(5)) in either byte order, usec or nsec. */
export class PcapDecoder implements RecordDecoder {
  readonly format = 'pcap' as const;
  readonly interfaces: CaptureInterface[] = [];
  littleEndian = true;
  needBytes = 0;
  versionMajor = 0;
  versionMinor = 0;
  nanosecond = false;
  /** Bytes before each record's data: 16, or 24 in Kuznetsov's format. */
  private recordHeaderLen = RECORD_HEADER_LEN;
  private headerDone = false;
  private linkType = 0;
  private maxCaplen = 262144;
  /** Before 2.3 (and DG/UX 543.0) caplen and len were written in the other order; 2.3 is ambiguous. */
  private lengthsSwapped: 'no' | 'yes' | 'maybe' = 'no';

  constructor(private readonly file: string) {}

  private parseHeader(b: Uint8Array, p: number, base: number): void {
    const magicLe = u32le(b, p);
    let le: boolean;
    if (isPcapMagic(magicLe)) le = true;
    else if (isPcapMagic(u32be(b, p))) le = false;
    else {
      throw new CaptureFileError('BAD_MAGIC', this.file, 'pcap file header', base + p, `magic 0x${u32be(b, p).toString(16).padStart(8, '0')} is not a pcap magic number`, 'this is not a pcap file');
    }
    this.littleEndian = le;
    this.nanosecond = u32(b, p, le) === PCAP_MAGIC_NSEC;
    this.recordHeaderLen = u32(b, p, le) === PCAP_MAGIC_KUZNETSOV ? KUZNETSOV_RECORD_HEADER_LEN : RECORD_HEADER_LEN;
    const major = u16(b, p + 4, le);
    const minor = u16(b, p + 6, le);
    this.versionMajor = major;
    this.versionMinor = minor;
    // Same acceptance as libpcap's pcap_check_header: 2.0-2.4, plus DG/UX's 543.0.
    if (!((major === 2 && minor <= 4) || (major === 543 && minor === 0))) {
      throw new CaptureFileError('UNSUPPORTED_VERSION', this.file, 'pcap file header', base + p, `pcap version ${major}.${minor} is not supported (need 2.0-2.4)`, 'the file header is damaged or the file was written by an incompatible tool; convert it with `editcap -F pcap`');
    }
    this.lengthsSwapped = major === 543 || minor < 3 ? 'yes' : minor === 3 ? 'maybe' : 'no';
    const snaplen = u32(b, p + 16, le);
    const field = u32(b, p + 20, le);
    // libpcap's LT_RESERVED1 (bits 16-25) must be zero; Wireshark refuses such files too.
    if ((field & 0x03ff0000) !== 0) {
      throw new CaptureFileError('BAD_LINKTYPE', this.file, 'pcap file header', base + p + 20, `link-type field 0x${field.toString(16).padStart(8, '0')} has reserved bits 16-25 set`, 'the file header is damaged; fix the link type with a hex editor or re-capture');
    }
    const linkType = field & 0xffff;
    // Bits 28-31: FCS length in 16-bit words, meaningful only with the P bit (26); libpcap masks both off.
    const fcsLength = field & 0x04000000 ? ((field >>> 28) & 0xf) * 2 : 0;
    this.linkType = linkType;
    this.maxCaplen = maxSnaplenForLinkType(linkType);
    this.interfaces.push({ id: 0, sectionIndex: 0, localId: 0, linkType, fcsLength, snaplen, tsresol: this.nanosecond ? 9 : 6, tsoffset: 0 });
    this.headerDone = true;
  }

  decodeHeader(buf: Uint8Array, pos: number, end: number, base: number, eof: boolean): number {
    this.needBytes = 0;
    if (!this.headerDone) {
      if (end - pos < FILE_HEADER_LEN) {
        if (eof) throw new CaptureFileError('TRUNCATED_FILE_HEADER', this.file, 'pcap file header', base + pos, `file ends after ${end - pos} of the ${FILE_HEADER_LEN} header bytes`);
        this.needBytes = FILE_HEADER_LEN;
        return pos;
      }
      this.parseHeader(buf, pos, base);
      pos += FILE_HEADER_LEN;
    }
    return pos;
  }

  decode(buf: Uint8Array, pos: number, end: number, base: number, batch: FrameBatch, eof: boolean): number {
    this.needBytes = 0;
    batch.buf = buf;
    if (!this.headerDone) {
      if (end - pos < FILE_HEADER_LEN) {
        if (eof) throw new CaptureFileError('TRUNCATED_FILE_HEADER', this.file, 'pcap file header', base + pos, `file ends after ${end - pos} of the ${FILE_HEADER_LEN} header bytes`);
        this.needBytes = FILE_HEADER_LEN;
        return pos;
      }
      this.parseHeader(buf, pos, base);
      pos += FILE_HEADER_LEN;
    }
    const le = this.littleEndian;
    const fracMul = this.nanosecond ? 1 : 1000;
    const linkType = this.linkType;
    const maxCaplen = this.maxCaplen;
    const swapped = this.lengthsSwapped;
    const hdrLen = this.recordHeaderLen;
    const cap = batch.capacity;
    // The batch's arrays in locals: the loop then does no property loads per record.
    const offsetA = batch.offset;
    const caplenA = batch.caplen;
    const wireLenA = batch.wireLen;
    const tsSecA = batch.tsSec;
    const tsNsecA = batch.tsNsec;
    const interfaceIdA = batch.interfaceId;
    const linkTypeA = batch.linkType;
    const recordOffsetA = batch.recordOffset;
    const flagsA = batch.flags;
    let n = batch.count;
    while (n < cap) {
      const avail = end - pos;
      if (avail < hdrLen) {
        if (avail === 0) break;
        if (eof) {
          batch.count = n;
          throw new CaptureFileError('TRUNCATED_RECORD', this.file, 'pcap record header', base + pos, `file ends ${avail} bytes into a ${hdrLen}-byte record header`);
        }
        this.needBytes = hdrLen;
        break;
      }
      let sec: number, frac: number, caplen: number, len: number;
      if (le) {
        // Inlined rather than bytes.ts calls: under module loaders that route imports through getters
        // (vite-node, bundlers' interop) four cross-module calls per record were measurable.
        sec = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
        frac = (buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24)) >>> 0;
        caplen = (buf[pos + 8] | (buf[pos + 9] << 8) | (buf[pos + 10] << 16) | (buf[pos + 11] << 24)) >>> 0;
        len = (buf[pos + 12] | (buf[pos + 13] << 8) | (buf[pos + 14] << 16) | (buf[pos + 15] << 24)) >>> 0;
      } else {
        sec = u32be(buf, pos);
        frac = u32be(buf, pos + 4);
        caplen = u32be(buf, pos + 8);
        len = u32be(buf, pos + 12);
      }
      if (swapped !== 'no' && (swapped === 'yes' || caplen > len)) {
        const t = caplen;
        caplen = len;
        len = t;
      }
      if (caplen > maxCaplen) {
        batch.count = n;
        throw new CaptureFileError('BAD_CAPLEN', this.file, 'pcap record header', base + pos, `captured length ${caplen} exceeds the maximum of ${maxCaplen} for link type ${linkType}`);
      }
      const recLen = hdrLen + caplen;
      if (avail < recLen) {
        if (eof) {
          batch.count = n;
          throw new CaptureFileError('TRUNCATED_RECORD', this.file, 'pcap record data', base + pos, `record needs ${caplen} captured bytes but only ${avail - hdrLen} remain`);
        }
        this.needBytes = recLen;
        break;
      }
      let nsec = frac * fracMul;
      // A sub-second field >= 1 s (seen in fuzzed files) is carried into seconds so tsNsec stays < 1e9.
      if (nsec >= 1e9) {
        const carry = Math.floor(nsec / 1e9);
        sec += carry;
        nsec -= carry * 1e9;
      }
      offsetA[n] = pos + hdrLen;
      caplenA[n] = caplen;
      wireLenA[n] = len;
      tsSecA[n] = sec;
      tsNsecA[n] = nsec;
      interfaceIdA[n] = 0;
      linkTypeA[n] = linkType;
      recordOffsetA[n] = base + pos;
      flagsA[n] = 0;
      n++;
      pos += recLen;
    }
    batch.count = n;
    return pos;
  }
}
