import { capLength, cStringLength, i64, pad4, u16, u32, u32le } from './bytes.js';
import type { RecordDecoder } from './decoder.js';
import { CaptureFileError } from './errors.js';
import { FrameBatch } from './frame-batch.js';
import { splitGeneric, splitPow10, tsOut } from './timestamp.js';
import type { CaptureInterface } from './types.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_OPB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_NRB = 0x00000004;
export const BT_ISB = 0x00000005;
export const BT_EPB = 0x00000006;
export const BT_DSB = 0x0000000a;
export const BT_CB = 0x00000bad;
export const BT_DCB = 0x40000bad;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Larger blocks are treated as damage, which bounds the memory the streaming reader may need for one block. */
export const MAX_BLOCK_LEN = 64 * 1024 * 1024;

export function blockTypeName(t: number): string {
  switch (t) {
    case BT_SHB: return 'SHB';
    case BT_IDB: return 'IDB';
    case BT_OPB: return 'OPB';
    case BT_SPB: return 'SPB';
    case BT_NRB: return 'NRB';
    case BT_ISB: return 'ISB';
    case BT_EPB: return 'EPB';
    case BT_DSB: return 'DSB';
    case BT_CB: return 'CB';
    case BT_DCB: return 'DCB';
    default: return `block 0x${t.toString(16).padStart(8, '0')}`;
  }
}

interface IfaceState {
  global: number;
  linkType: number;
  snaplen: number;
  tsresol: number;
  /** Fast path: units per second when a power of ten <= 1e9, else 0 (BigInt path). */
  div: number;
  nsMul: number;
  tsoffset: number;
}

/** Decodes pcapng (draft-ietf-opsawg-pcapng): several sections, each with its own byte order and interfaces. */
export class PcapngDecoder implements RecordDecoder {
  readonly format = 'pcapng' as const;
  readonly interfaces: CaptureInterface[] = [];
  /** The file header's byte order, i.e. the first section's (what `header` reports; later sections may differ). */
  littleEndian = true;
  /** The first section's version (1.0, or 1.2 from some old writers), as `header` reports it. */
  versionMajor = 1;
  versionMinor = 0;
  needBytes = 0;
  sectionIndex = -1;
  private section: IfaceState[] = [];
  /** Byte order of the section being decoded. */
  private sectionLe = true;
  // Out-values of scanPacketOptions (kept on the instance so the hot path allocates nothing).
  private optComments: readonly string[] | undefined = undefined;
  /** The last EPB/OPB time, given to Simple Packet Blocks (which have none). */
  private lastSec = 0;
  private lastNsec = 0;
  private optFlags = 0;
  private readonly utf8 = new TextDecoder('utf-8');

  private stopAtPacket = false;
  private readonly scratch = new FrameBatch(1);

  constructor(private readonly file: string) {}

  decodeHeader(buf: Uint8Array, pos: number, end: number, base: number, eof: boolean): number {
    this.stopAtPacket = true;
    try {
      this.scratch.reset();
      return this.decode(buf, pos, end, base, this.scratch, eof);
    } finally {
      this.stopAtPacket = false;
    }
  }

  private fail(code: ConstructorParameters<typeof CaptureFileError>[0], type: number, at: number, detail: string): never {
    throw new CaptureFileError(code, this.file, blockTypeName(type), at, detail);
  }

  decode(buf: Uint8Array, pos: number, end: number, base: number, batch: FrameBatch, eof: boolean): number {
    this.needBytes = 0;
    batch.buf = buf;
    const cap = batch.capacity;
    let n = batch.count;
    try {
      while (n < cap) {
        const avail = end - pos;
        if (avail === 0) {
          // Header mode cannot know whether more IDBs follow until it sees the next block.
          if (this.stopAtPacket && !eof) this.needBytes = 12;
          break;
        }
        if (avail < 12) {
          if (eof) {
            // Name the block when its type word is there (a file cut 10 bytes into its SHB says SHB).
            const t = avail < 4 ? 0 : u32le(buf, pos) === BT_SHB ? BT_SHB : u32(buf, pos, this.sectionLe);
            this.fail('TRUNCATED_BLOCK', t, base + pos, `file ends ${avail} bytes into a block header (12 bytes needed)`);
          }
          this.needBytes = 12;
          break;
        }
        let le = this.sectionLe;
        let type = u32(buf, pos, le);
        if (u32le(buf, pos) === BT_SHB) {
          type = BT_SHB;
          const bom = u32le(buf, pos + 8);
          if (bom === BYTE_ORDER_MAGIC) le = true;
          else if (bom === 0x4d3c2b1a) le = false;
          else this.fail('BAD_MAGIC', BT_SHB, base + pos, `byte-order magic 0x${bom.toString(16)} is neither 0x1a2b3c4d nor its swap`);
        } else if (this.sectionIndex < 0) {
          this.fail('BLOCK_BEFORE_SHB', type, base + pos, 'the first block of a pcapng file must be a Section Header Block');
        }
        const total = u32(buf, pos + 4, le);
        const minLen = type === BT_SHB ? 28 : 12;
        if (total < minLen || (total & 3) !== 0 || total > MAX_BLOCK_LEN) {
          this.fail('BAD_BLOCK_LENGTH', type, base + pos, `block total length ${total} is invalid (must be a multiple of 4, >= ${minLen} and <= ${MAX_BLOCK_LEN})`);
        }
        if (avail < total) {
          if (eof) this.fail('TRUNCATED_BLOCK', type, base + pos, `block of ${total} bytes but only ${avail} remain in the file`);
          this.needBytes = total;
          break;
        }
        const trailer = u32(buf, pos + total - 4, le);
        if (trailer !== total) this.fail('BAD_BLOCK_TRAILER', type, base + pos, `trailing block length ${trailer} differs from leading length ${total}`);
        const bodyEnd = pos + total - 4;
        if (this.stopAtPacket && (type === BT_EPB || type === BT_SPB || type === BT_OPB)) break;
        switch (type) {
          case BT_SHB:
            this.readShb(buf, pos, bodyEnd, base, le);
            break;
          case BT_IDB:
            this.readIdb(buf, pos, bodyEnd, base, le);
            break;
          case BT_EPB:
          case BT_OPB: {
            const epb = type === BT_EPB;
            const localId = epb ? u32(buf, pos + 8, le) : u16(buf, pos + 8, le);
            const ifc = this.section[localId];
            if (ifc === undefined) this.fail('BAD_INTERFACE_ID', type, base + pos, `interface id ${localId} but the section has ${this.section.length} interface(s)`);
            const hi = u32(buf, pos + 12, le);
            const lo = u32(buf, pos + 16, le);
            const caplen = u32(buf, pos + 20, le);
            const len = u32(buf, pos + 24, le);
            const dataStart = pos + 28;
            if (caplen > bodyEnd - dataStart) this.fail('BAD_CAPLEN', type, base + pos, `captured length ${caplen} does not fit in a block of ${total} bytes`);
            const optStart = dataStart + pad4(caplen);
            if (optStart > bodyEnd) this.fail('BAD_BLOCK_LENGTH', type, base + pos, `padded packet data overruns the block of ${total} bytes`);
            if (optStart < bodyEnd) this.scanPacketOptions(buf, optStart, bodyEnd, le, type, base + pos);
            else {
              this.optComments = undefined;
              this.optFlags = 0;
            }
            if (ifc.div !== 0) splitPow10(hi, lo, ifc.div, ifc.nsMul);
            else splitGeneric(hi, lo, ifc.tsresol);
            batch.offset[n] = dataStart;
            batch.caplen[n] = caplen;
            batch.wireLen[n] = len;
            batch.tsSec[n] = this.lastSec = tsOut.sec + ifc.tsoffset;
            batch.tsNsec[n] = this.lastNsec = tsOut.nsec;
            batch.interfaceId[n] = ifc.global;
            batch.linkType[n] = ifc.linkType;
            batch.recordOffset[n] = base + pos;
            batch.flags[n] = this.optFlags;
            if (this.optComments !== undefined) batch.setComments(n, this.optComments);
            n++;
            break;
          }
          case BT_SPB: {
            const ifc = this.section[0];
            if (ifc === undefined) this.fail('BAD_INTERFACE_ID', type, base + pos, 'Simple Packet Block needs interface 0 but the section has no interface');
            const len = u32(buf, pos + 8, le);
            const room = bodyEnd - (pos + 12);
            // The block holds min(original length, snaplen) bytes (pcapng spec; Wireshark and libpcap refuse
            // a block too short for them rather than read a cut frame as whole).
            const caplen = capLength(len, ifc.snaplen);
            if (caplen > room) this.fail('BAD_BLOCK_LENGTH', type, base + pos, `Simple Packet Block holds ${room} bytes of data but its packet needs ${caplen} (original length ${len}${ifc.snaplen !== 0 ? `, snaplen ${ifc.snaplen}` : ''})`);
            batch.offset[n] = pos + 12;
            batch.caplen[n] = caplen;
            batch.wireLen[n] = len;
            // An SPB has no timestamp: it keeps the last timed frame's time, so replay time does not jump to 1970.
            batch.tsSec[n] = this.lastSec;
            batch.tsNsec[n] = this.lastNsec;
            batch.markUntimed(n);
            batch.interfaceId[n] = ifc.global;
            batch.linkType[n] = ifc.linkType;
            batch.recordOffset[n] = base + pos;
            batch.flags[n] = 0;
            n++;
            break;
          }
          default:
            // NRB, ISB, DSB, custom and unknown blocks: skipped by their (validated) length.
            break;
        }
        pos += total;
      }
    } finally {
      batch.count = n;
    }
    return pos;
  }

  /** Walks an option list, validating lengths; calls `visit` per option (not on the hot path). */
  private walkOptions(b: Uint8Array, p: number, end: number, le: boolean, type: number, blockAt: number, visit: (code: number, at: number, len: number) => void): void {
    while (p < end) {
      if (end - p < 4) this.fail('BAD_OPTION_LENGTH', type, blockAt, `option header at block byte ${p - 0} overruns the block`);
      const code = u16(b, p, le);
      const len = u16(b, p + 2, le);
      if (code === 0) return;
      if (p + 4 + len > end) this.fail('BAD_OPTION_LENGTH', type, blockAt, `option ${code} of length ${len} overruns the block by ${p + 4 + len - end} bytes`);
      visit(code, p + 4, len);
      p += 4 + pad4(len);
    }
  }

  private scanPacketOptions(b: Uint8Array, p: number, end: number, le: boolean, type: number, blockAt: number): void {
    let comments: string[] | undefined;
    let flags = 0;
    while (p < end) {
      if (end - p < 4) this.fail('BAD_OPTION_LENGTH', type, blockAt, 'option header overruns the block');
      const code = u16(b, p, le);
      const len = u16(b, p + 2, le);
      if (code === 0) break;
      if (p + 4 + len > end) this.fail('BAD_OPTION_LENGTH', type, blockAt, `option ${code} of length ${len} overruns the block by ${p + 4 + len - end} bytes`);
      if (code === 1) {
        const text = this.utf8.decode(b.subarray(p + 4, p + 4 + cStringLength(b, p + 4, len)));
        (comments ??= []).push(text);
      } else if (code === 2 && len === 4) {
        flags = u32(b, p + 4, le);
      }
      p += 4 + pad4(len);
    }
    this.optComments = comments;
    this.optFlags = flags;
  }

  private readShb(b: Uint8Array, pos: number, bodyEnd: number, base: number, le: boolean): void {
    const major = u16(b, pos + 12, le);
    const minor = u16(b, pos + 14, le);
    // Wireshark and libpcap read 1.0 (and 1.2, written by some old tools).
    if (!(major === 1 && (minor === 0 || minor === 2))) {
      throw new CaptureFileError('UNSUPPORTED_VERSION', this.file, 'SHB', base + pos, `pcapng version ${major}.${minor} is not supported (need 1.0)`, 'the section header is damaged or the file was written by an incompatible tool; convert it with `editcap -F pcapng`');
    }
    this.walkOptions(b, pos + 24, bodyEnd, le, BT_SHB, base + pos, () => {});
    this.sectionLe = le;
    this.sectionIndex++;
    if (this.sectionIndex === 0) {
      this.littleEndian = le;
      this.versionMajor = major;
      this.versionMinor = minor;
    }
    this.section = [];
  }

  private readIdb(b: Uint8Array, pos: number, bodyEnd: number, base: number, le: boolean): void {
    if (bodyEnd - pos < 16) this.fail('BAD_BLOCK_LENGTH', BT_IDB, base + pos, 'Interface Description Block shorter than its 20 fixed bytes');
    const linkType = u16(b, pos + 8, le);
    const snaplen = u32(b, pos + 12, le);
    let name: string | undefined;
    let tsresol = 6;
    let tsoffset = 0;
    let fcsLength = 0;
    this.walkOptions(b, pos + 16, bodyEnd, le, BT_IDB, base + pos, (code, at, len) => {
      if (code === 2) name = this.utf8.decode(b.subarray(at, at + cStringLength(b, at, len)));
      else if (code === 9 && len >= 1) tsresol = b[at];
      else if (code === 14 && len >= 8) tsoffset = i64(b, at, le);
      else if (code === 13 && len >= 1) fcsLength = b[at];
    });
    const pow10 = (tsresol & 0x80) === 0;
    if (!pow10 && (tsresol & 0x7f) > 63) this.fail('BAD_TIMESTAMP_RESOLUTION', BT_IDB, base + pos, `if_tsresol 2^-${tsresol & 0x7f} is finer than a 64-bit timestamp can hold`);
    const div = pow10 && tsresol <= 9 ? 10 ** tsresol : 0;
    const global = this.interfaces.length;
    const localId = this.section.length;
    this.section.push({ global, linkType, snaplen, tsresol, div, nsMul: div === 0 ? 0 : 1e9 / div, tsoffset });
    const ifc: CaptureInterface = { id: global, sectionIndex: this.sectionIndex, localId, linkType, fcsLength, snaplen, tsresol, tsoffset };
    this.interfaces.push(name === undefined ? ifc : { ...ifc, name });
  }
}
