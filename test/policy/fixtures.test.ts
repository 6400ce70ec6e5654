import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withExtra } from '../kubeproxy/scenarios.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import type { FlowProto, PolicyMode } from '../../src/policy/engine.js';
import { parseIpv4 } from '../../src/scenario/ipv4.js';
import type { Cluster } from '../../src/scenario/model.js';

const DIR = join(import.meta.dirname, '../fixtures/policies');

function ipOf(c: Cluster, ref: string): number {
  if (ref.startsWith('world:')) return parseIpv4(ref.slice(6))!;
  const [ns, name] = ref.split('/');
  const p = c.pods.find((x) => x.namespace === ns && x.name === name);
  if (!p) throw new Error(`fixture names unknown pod ${ref}`);
  return p.ip32;
}

function table(name: string): string[][] {
  return readFileSync(join(DIR, name), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}

for (const fx of ['three-tier', 'tenants', 'cilium', 'clusterwide']) {
  describe(`course fixture ${fx}`, () => {
    const cluster = withExtra(readFileSync(join(DIR, `${fx}.yaml`), 'utf8'));
    for (const mode of ['ebpf', 'iptables'] as PolicyMode[]) {
      const engine = new PolicyEngine(cluster, { mode });
      it(`${mode}: compiles without diagnostics`, () => {
        expect(engine.diagnostics).toEqual([]);
      });
      for (const [src, dst, proto, port, want, why] of table(`${fx}.verdicts.tsv`)) {
        it(`${mode}: ${src} -> ${dst} ${proto}/${port} = ${want} (${why})`, () => {
          const v = engine.packet({ src32: ipOf(cluster, src), dst32: ipOf(cluster, dst), proto: proto as FlowProto, sport: 40000, dport: Number(port) });
          expect(v.verdict).toBe(want);
        });
      }
    }
  });
}
