/** Capture files and scenario files for suites that replay everything in a folder. */
import { readdirSync, statSync } from 'node:fs';
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
