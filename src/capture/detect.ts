import { u32be, u32le } from './bytes.js';
import type { RecordDecoder } from './decoder.js';
import { CaptureFileError } from './errors.js';
import { isPcapMagic, PcapDecoder } from './pcap-decoder.js';
import { BT_SHB, PcapngDecoder } from './pcapng-decoder.js';

/** Picks the decoder from the first 4 bytes (pass what is there; fewer than 4 bytes of a non-empty file is an error). */
export function createDecoder(head: Uint8Array, file: string): RecordDecoder {
  if (head.length === 0) {
    throw new CaptureFileError('EMPTY_FILE', file, 'file header', 0, 'the file is empty', 'a capture file needs at least a pcap or pcapng header; check the path or re-capture');
  }
  if (head.length < 4) {
    throw new CaptureFileError('TRUNCATED_FILE_HEADER', file, 'file header', 0, `the file has only ${head.length} bytes, too short for a pcap or pcapng magic number`);
  }
  const format = sniffCaptureFormat(head);
  if (format === 'pcapng') return new PcapngDecoder(file);
  if (format === 'pcap') return new PcapDecoder(file);
  throw new CaptureFileError('UNKNOWN_FORMAT', file, 'file header', 0, `magic 0x${u32be(head, 0).toString(16).padStart(8, '0')} is neither pcap nor pcapng`, unknownFormatHint(head));
}

/** The capture format a file's first bytes announce (pcapng's SHB; any pcap magic, either byte order), else undefined. */
export function sniffCaptureFormat(head: Uint8Array): 'pcap' | 'pcapng' | undefined {
  if (head.length < 4) return undefined;
  const le = u32le(head, 0);
  if (le === BT_SHB) return 'pcapng';
  return isPcapMagic(le) || isPcapMagic(u32be(head, 0)) ? 'pcap' : undefined;
}

/** The compression a file's first bytes announce (gzip's 1f 8b, zstd's frame magic), else undefined. */
export function sniffCompression(head: Uint8Array): 'gzip' | 'zstd' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return undefined;
}

/**
 * What to do with a file that is not pcap or pcapng, from its first bytes: the two mistakes people make are a
 * compressed capture (tcpdump/Wireshark read .pcap.gz and .zst; dpemu does not) and a text file, usually the
 * scenario YAML given where the capture goes.
 */
function unknownFormatHint(head: Uint8Array): string {
  const convert = 'dpemu reads pcap and pcapng; convert other formats with `editcap -F pcapng IN OUT`';
  const compression = sniffCompression(head);
  if (compression === 'gzip') return 'it is gzip-compressed: decompress it first (gunzip -k FILE); dpemu reads uncompressed pcap and pcapng';
  if (compression === 'zstd') return 'it is zstd-compressed: decompress it first (zstd -d FILE); dpemu reads uncompressed pcap and pcapng';
  const text = head.subarray(0, 4).every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f));
  if (text) return `it starts like a text file: a scenario YAML goes after --scenario, the capture argument is a pcap or pcapng file; ${convert.replace('dpemu reads pcap and pcapng; c', 'c')}`;
  return convert;
}
