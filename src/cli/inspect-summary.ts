/** The capinfos-like summary of `dpemu inspect`: accumulated frame by frame (constant memory), then printed. */
import type { CaptureFileError } from '../capture/errors.js';
import type { CaptureHeaderInfo, CaptureInterface } from '../capture/types.js';

/** Names as capinfos prints them ("File encapsulation"), for the link types dpemu knows. */
const LINK_TYPE_NAMES: Record<number, string> = {
  0: 'BSD loopback', 1: 'Ethernet', 101: 'Raw IP', 108: 'OpenBSD loopback', 113: 'Linux cooked-mode capture v1',
  228: 'Raw IPv4', 229: 'Raw IPv6', 239: 'NFLOG', 276: 'Linux cooked-mode capture v2',
};

export function linkTypeName(lt: number): string {
  return `${LINK_TYPE_NAMES[lt] ?? 'LINKTYPE'} (${lt})`;
}

/** Fraction digits an interface's timestamps carry: 6 for usec and coarser, 9 for anything finer. */
export function fractionDigits(ifc: CaptureInterface | undefined): 6 | 9 {
  if (ifc === undefined) return 6;
  const r = ifc.tsresol;
  return (r & 0x80) !== 0 ? ((r & 0x7f) > 20 ? 9 : 6) : r > 6 ? 9 : 6;
}

/** The fraction of a second after the point: 9 digits, or 6 (microseconds, truncated). */
export function formatFraction(nsec: number, digits: 6 | 9): string {
  return digits === 9 ? String(nsec).padStart(9, '0') : String(Math.floor(nsec / 1000)).padStart(6, '0');
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` UTC (seconds outside Date's range fall back to the epoch number). */
export function formatDateTime(sec: number, nsec: number, digits: 6 | 9): string {
  const frac = formatFraction(nsec, digits);
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return `${sec}.${frac} (epoch)`;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}.${frac}`;
}

/**
 * Seconds and nanoseconds kept apart, as capinfos prints them: a float of the sum has only ~16 significant
 * digits, so past ~10^7 s (a capture spanning months, or a bogus far-future timestamp) the last digits were wrong.
 */
export function formatDuration(sec: number, nsec: number, digits: 6 | 9): string {
  if (nsec < 0) {
    sec -= 1;
    nsec += 1e9;
  }
  return `${sec}.${formatFraction(nsec, digits)}`;
}

export class SummaryAccumulator {
  packets = 0;
  wireBytes = 0;
  capturedBytes = 0;
  firstSec = Infinity;
  firstNsec = 0;
  lastSec = -Infinity;
  lastNsec = 0;
  readonly perInterface: number[] = [];
  /** Link types seen on frames (a pcapng file may mix them). */
  readonly linkTypes = new Set<number>();
  /** Frames without a timestamp (pcapng Simple Packet Blocks). */
  untimed = 0;

  add(sec: number, nsec: number, caplen: number, wireLen: number, interfaceId: number, linkType: number, timed = true): void {
    this.packets++;
    this.wireBytes += wireLen;
    this.capturedBytes += caplen;
    this.perInterface[interfaceId] = (this.perInterface[interfaceId] ?? 0) + 1;
    this.linkTypes.add(linkType);
    if (!timed) {
      this.untimed++;
      return;
    }
    if (sec < this.firstSec || (sec === this.firstSec && nsec < this.firstNsec)) { this.firstSec = sec; this.firstNsec = nsec; }
    if (sec > this.lastSec || (sec === this.lastSec && nsec > this.lastNsec)) { this.lastSec = sec; this.lastNsec = nsec; }
  }
}

export interface SummaryInput {
  readonly file: string;
  readonly fileSize: number;
  readonly header: CaptureHeaderInfo;
  readonly interfaces: readonly CaptureInterface[];
  readonly acc: SummaryAccumulator;
  readonly error: CaptureFileError | undefined;
}

const pad = (label: string): string => `${label}:`.padEnd(21);

export function formatSummary(s: SummaryInput): string {
  const { header: h, acc, interfaces } = s;
  const digits = interfaces.some((i) => fractionDigits(i) === 9) ? 9 : 6;
  const lines: string[] = [];
  lines.push(pad('File name') + s.file);
  const order = h.littleEndian ? 'little-endian' : 'big-endian';
  if (h.format === 'pcap') {
    lines.push(pad('File type') + `pcap (${order}, version ${h.versionMajor}.${h.versionMinor}, ${digits === 9 ? 'nanoseconds' : 'microseconds'})`);
  } else {
    lines.push(pad('File type') + `pcapng (${order} first section)`);
  }
  const ifLinks = [...new Set(interfaces.map((i) => i.linkType))];
  lines.push(pad('File encapsulation') + (ifLinks.length === 1 ? linkTypeName(ifLinks[0]) : ifLinks.length === 0 ? 'none' : `per packet: ${ifLinks.map(linkTypeName).join(', ')}`));
  lines.push(pad('Number of packets') + String(acc.packets));
  lines.push(pad('File size') + `${s.fileSize} bytes`);
  lines.push(pad('Data size') + `${acc.wireBytes} bytes (on the wire; ${acc.capturedBytes} bytes captured)`);
  if (acc.untimed > 0) {
    // capinfos prints no first/last time or duration once a packet has no timestamp: neither does dpemu.
    lines.push(pad('Packet times') + `unknown: ${acc.untimed} of ${acc.packets} packets have no timestamp (pcapng Simple Packet Blocks)`);
  } else if (acc.packets > 0) {
    lines.push(pad('Capture duration') + `${formatDuration(acc.lastSec - acc.firstSec, acc.lastNsec - acc.firstNsec, digits)} seconds`);
    lines.push(pad('First packet time') + `${formatDateTime(acc.firstSec, acc.firstNsec, digits)} UTC`);
    lines.push(pad('Last packet time') + `${formatDateTime(acc.lastSec, acc.lastNsec, digits)} UTC`);
  }
  lines.push(`Number of interfaces in file: ${interfaces.length}`);
  for (const ifc of interfaces) {
    const name = ifc.name !== undefined ? ` ${ifc.name}` : '';
    const snap = ifc.snaplen > 0 ? `snaplen ${ifc.snaplen}` : 'snaplen (not set)';
    const res = fractionDigits(ifc) === 9 ? 'nanoseconds' : 'microseconds';
    lines.push(`  Interface #${ifc.id}${name}: ${linkTypeName(ifc.linkType)}, ${snap}, ${res}, ${acc.perInterface[ifc.id] ?? 0} packets`);
  }
  if (s.error !== undefined) {
    lines.push(pad('Damaged') + `${s.error.blockType} at byte offset ${s.error.offset} [${s.error.code}]; counts above stop there`);
  }
  return lines.join('\n') + '\n';
}
