/** Capture files and scenario files for suites that replay everything in a folder. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenarioFile, type Cluster } from '../../src/scenario/index.js';

/** A scenario file's Cluster (its ScenarioError thrown). */
export function scenarioCluster(path: string): Cluster {
  const r = loadScenarioFile(path);
  if (!r.ok) throw r.error;
  return r.cluster;
}

/** The .pcap and .pcapng files under `dir`, recursively, sorted. */
export function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...captureFiles(p));
    else if (/\.(pcap|pcapng)$/.test(e)) out.push(p);
  }
  return out.sort();
}

/**
 * The frames of a little-endian classic pcap as PcapWriter writes it (the generated kernel fixtures), in order.
 * Not a capture reader: no checks; src/capture reads real files.
 */
export function pcapFrames(path: string): Buffer[] {
  const b = readFileSync(path);
  const out: Buffer[] = [];
  for (let off = 24; off < b.length;) {
    const incl = b.readUInt32LE(off + 8);
    out.push(b.subarray(off + 16, off + 16 + incl));
    off += 16 + incl;
  }
  return out;
}
