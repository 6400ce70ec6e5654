import { u32be, u32le } from './bytes.js';
import type { RecordDecoder } from './decoder.js';
import { CaptureFileError } from './errors.js';
import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC, PcapDecoder } from './pcap-decoder.js';
import { BT_SHB, PcapngDecoder } from './pcapng-decoder.js';

/** Picks the decoder from the first 4 bytes (pass what is there; fewer than 4 bytes of a non-empty file is an error). */
export function createDecoder(head: Uint8Array, file: string): RecordDecoder {
  if (head.length === 0) {
    throw new CaptureFileError('EMPTY_FILE', file, 'file header', 0, 'the file is empty', 'a capture file needs at least a pcap or pcapng header; check the path or re-capture');
  }
  if (head.length < 4) {
    throw new CaptureFileError('TRUNCATED_FILE_HEADER', file, 'file header', 0, `the file has only ${head.length} bytes, too short for a pcap or pcapng magic number`);
  }
  const le = u32le(head, 0);
  const be = u32be(head, 0);
  if (le === BT_SHB) return new PcapngDecoder(file);
  if (le === PCAP_MAGIC_USEC || le === PCAP_MAGIC_NSEC || be === PCAP_MAGIC_USEC || be === PCAP_MAGIC_NSEC) return new PcapDecoder(file);
  throw new CaptureFileError('UNKNOWN_FORMAT', file, 'file header', 0, `magic 0x${be.toString(16).padStart(8, '0')} is neither pcap nor pcapng`, 'dpemu reads pcap and pcapng; convert other formats with `editcap -F pcapng IN OUT`');
}
