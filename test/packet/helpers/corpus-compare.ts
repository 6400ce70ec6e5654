/** Compare dpemu's parse of every corpus capture with tshark's per-frame columns (<file>.tshark.tsv). */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packetFields } from '../../../src/packet/fields.js';
import { parsePacket } from '../../../src/packet/parse.js';
import { PacketView, VXLAN_PORTS_TSHARK } from '../../../src/packet/view.js';
import { readCapture, type MiniFrame } from './mini-capture.js';

export const CORPUS = join(import.meta.dirname, '../../fixtures/corpus');

export const COMPARED = [
  'frame.len', 'frame.cap_len', 'eth.src', 'eth.dst', 'eth.type', 'ip.src', 'ip.dst', 'ip.proto',
  'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'udp.srcport', 'udp.dstport', 'vxlan.vni',
] as const;

export interface Mismatch {
  file: string;
  frame: number;
  field: string;
  tshark: string;
  dpemu: string;
  error: string;
}

/** Every capture of the corpus; one without its `.tshark.tsv` is an error, not a file left out. */
export function corpusFiles(): string[] {
  const files = readdirSync(CORPUS);
  const tsv = new Set(files.filter((f) => f.endsWith('.tshark.tsv')));
  const captures = files.filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();
  const missing = captures.filter((f) => !tsv.has(`${f}.tshark.tsv`));
  if (missing.length > 0) throw new Error(`corpus captures without their .tshark.tsv (Wireshark's dissection): ${missing.join(', ')}`);
  return captures;
}

export type FrameSource = (bytes: Uint8Array, name: string) => MiniFrame[];

export function compareFile(file: string, source: FrameSource = readCapture): { frames: number; rows: number; mismatches: Mismatch[]; errors: number } {
  const tsv = readFileSync(join(CORPUS, `${file}.tshark.tsv`), 'utf8').split('\n').filter((l) => l.length > 0);
  const header = tsv[0].split('\t');
  const rows = tsv.slice(1).map((l) => l.split('\t'));
  const frames = source(new Uint8Array(readFileSync(join(CORPUS, file))), file);
  const view = new PacketView({ vxlanPorts: VXLAN_PORTS_TSHARK, vxlanStrictFlags: false });
  const mismatches: Mismatch[] = [];
  let errors = 0;
  const n = Math.max(rows.length, frames.length);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    const fr = frames[i];
    if (!row || !fr) {
      mismatches.push({ file, frame: i + 1, field: 'frame.count', tshark: String(rows.length), dpemu: String(frames.length), error: '' });
      break;
    }
    let fields: Record<string, string | string[]>;
    if (fr.custom) {
      fields = { 'frame.len': String(fr.wireLen), 'frame.cap_len': String(fr.caplen) };
    } else {
      parsePacket(view, fr.data, 0, fr.caplen, fr.wireLen, fr.linkType);
      if (view.error !== 0) errors++;
      fields = packetFields(view);
    }
    const err = typeof fields['dpemu.error'] === 'string' ? fields['dpemu.error'] : '';
    for (const col of COMPARED) {
      const idx = header.indexOf(col);
      const want = row[idx] ?? '';
      const got = fields[col];
      const gotS = got === undefined ? '' : Array.isArray(got) ? got.join(',') : got;
      if (want !== gotS) mismatches.push({ file, frame: i + 1, field: col, tshark: want, dpemu: gotS, error: err });
    }
  }
  return { frames: frames.length, rows: rows.length, mismatches, errors };
}
