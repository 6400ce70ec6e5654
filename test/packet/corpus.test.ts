/**
 * Corpus conformance: every frame of every capture with a .tshark.tsv must give tshark's columns.
 * Parsed with the tshark-compatible VXLAN port set ({4789}) and without Linux's strict VXLAN flag check.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketView } from '../../src/packet/view.js';
import { CORPUS, compareFile, corpusFiles } from './helpers/corpus-compare.js';
import { readWithCaptureReader } from './helpers/capture-source.js';
import { readCapture } from './helpers/mini-capture.js';

/** The one list of accepted differences: file -> frames (or 'all') and why. */
const EXCEPTIONS: Record<string, { frames: number[] | 'all'; reason: string }> = {
  'zeek__erspan.pcap': { frames: 'all', reason: 'GRE/ERSPAN is not dissected by dpemu (not on a Kubernetes node path)' },
  'zeek__tunnels_Teredo.pcap': { frames: [6, 7, 30, 31], reason: 'Teredo (IPv6 in UDP 3544) is not dissected' },
  'zeek__ipv4_fragmented-4.pcap': { frames: [2, 5], reason: 'tshark reassembles: L4 shown on the last fragment; dpemu reads L4 from the first fragment' },
  'zeek__ipv6-fragmented-dns.pcap': { frames: [6, 8], reason: 'tshark reassembles: L4 shown on the last fragment; dpemu reads L4 from the first fragment' },
  'tcpdump__ipv4_invalid_length.pcap': { frames: [1], reason: 'IPv4 header cut at 19 bytes: tshark prints fields before the cut, dpemu reports IPV4_TRUNCATED with no L3 fields' },
  'tcpdump__ipv6_invalid_length.pcap': { frames: [1], reason: 'IPv6 header cut inside dst: tshark prints fields before the cut, dpemu reports IPV6_TRUNCATED with no L3 fields' },
};

/** Files tshark/capinfos cannot open (INDEX.tsv reader_error): nothing to compare, but parsing must not throw. */
function unreadableByTshark(): Set<string> {
  const lines = readFileSync(join(CORPUS, 'INDEX.tsv'), 'utf8').split('\n').filter((l) => l);
  const head = lines[0].split('\t');
  const ci = head.indexOf('reader_error');
  return new Set(lines.slice(1).map((l) => l.split('\t')).filter((c) => (c[ci] ?? '') !== '').map((c) => c[0]));
}

describe('corpus conformance with tshark 4.0', () => {
  const unreadable = unreadableByTshark();
  const files = corpusFiles();
  it('has the corpus', () => {
    expect(files.length).toBeGreaterThan(100);
  });
  for (const file of files) {
    it(file, () => {
      if (unreadable.has(file)) {
        const view = new PacketView();
        for (const fr of [...readCapture(new Uint8Array(readFileSync(join(CORPUS, file)))), ...readWithCaptureReader(new Uint8Array(readFileSync(join(CORPUS, file))), file)]) {
          expect(() => parsePacket(view, fr.data, 0, fr.caplen, fr.wireLen, fr.linkType)).not.toThrow();
        }
        return;
      }
      const r = compareFile(file, readWithCaptureReader);
      const ex = EXCEPTIONS[file];
      const left = r.mismatches.filter((m) => !(ex && (ex.frames === 'all' || ex.frames.includes(m.frame))));
      expect(left.slice(0, 10)).toEqual([]);
      expect(r.frames).toBe(r.rows);
      if (ex && ex.frames !== 'all') {
        // An exception that no longer applies must be removed.
        const hit = new Set(r.mismatches.map((m) => m.frame));
        expect(ex.frames.filter((f) => !hit.has(f))).toEqual([]);
      }
    });
  }
});

describe('malformed corpus frames', () => {
  it('every frame parses without throwing; bad frames carry an error code, good neighbours parse', () => {
    const view = new PacketView();
    let bad = 0;
    let good = 0;
    for (const file of corpusFiles()) {
      for (const fr of readCapture(new Uint8Array(readFileSync(join(CORPUS, file))))) {
        if (fr.custom) continue;
        parsePacket(view, fr.data, 0, fr.caplen, fr.wireLen, fr.linkType);
        if (view.error !== 0) {
          bad++;
          expect(view.errorLayer).toBeGreaterThanOrEqual(0);
          expect(view.errorLayer).toBeLessThan(view.layerCount);
        } else good++;
      }
    }
    expect(bad).toBeGreaterThan(10);
    expect(good).toBeGreaterThan(10000);
  });

  it('specific malformed files report the expected error', () => {
    const firstError = (file: string): string[] => {
      const view = new PacketView();
      const out: string[] = [];
      for (const fr of readCapture(new Uint8Array(readFileSync(join(CORPUS, file))))) {
        parsePacket(view, fr.data, 0, fr.caplen, fr.wireLen, fr.linkType);
        out.push(String(view.error));
      }
      return out;
    };
    expect(firstError('tcpdump__ipv4_invalid_hdr_length.pcap')).toEqual(['12']); // BAD_IHL
    expect(firstError('zeek__tunnels_vxlan-triple-v2.pcap')).toContain('23'); // UNKNOWN_VXLAN_FLAGS (Linux-strict default)
    expect(firstError('tcpdump__unsupported-link-type-160.pcap').every((e) => e === '7')).toBe(true);
  });
});
