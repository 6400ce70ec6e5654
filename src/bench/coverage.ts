/**
 * The stage list mapped to the suite's rows, so every stage it names has a row of its own per engine
 * (veth and route included: veth-xmit and ip4-lookup/ip4-forward are the stages that do that work).
 * Pure: the report renders it from the measured rows; a stage with no measured row shows "not measured".
 */
import type { StageResult } from './types.js';

export interface CoverageEntry {
  /** The name for the stage. */
  readonly stage: string;
  /** Row key prefixes, in order; per prefix and engine the last matching row (the largest size) is shown. */
  readonly prefixes: readonly string[];
}

export const COVERAGE: readonly CoverageEntry[] = [
  { stage: 'parse', prefixes: ['parse/parsePacket', 'pipeline/ethernet-input@node-1', 'pipeline/ip4-input@node-1'] },
  { stage: 'veth', prefixes: ['pipeline/veth-xmit@node-1', 'pipeline/veth-xmit@node-2'] },
  { stage: 'route', prefixes: ['pipeline/ip4-lookup@node-1', 'pipeline/ip4-forward@node-1'] },
  { stage: 'vxlan encap', prefixes: ['pipeline/vxlan4-encap@node-1'] },
  { stage: 'vxlan decap', prefixes: ['pipeline/vxlan4-decap@node-2'] },
  { stage: 'ct lookup hit', prefixes: ['conntrack/ct lookup hit', 'pipeline/nf4-prerouting@node-1'] },
  { stage: 'ct lookup miss', prefixes: ['conntrack/ct lookup miss'] },
  { stage: 'ct insert', prefixes: ['conntrack/ct insert'] },
  { stage: 'iptables service chain', prefixes: ['new-conn-', 'scaling/iptables-service-chain@'] },
  { stage: 'ipvs', prefixes: ['new-conn-ipvs-', 'pipeline-ipvs/ipvs4-in@node-1', 'scaling/ipvs-service@'] },
  { stage: 'policy, iptables model', prefixes: ['policy/decide-iptables@', 'policy-pipeline-iptables-'] },
  { stage: 'policy, eBPF model', prefixes: ['policy/decide-ebpf@', 'policy-pipeline-ebpf-'] },
  { stage: 'socket LB', prefixes: ['socket-lb/connect new (maglev', 'pipeline-ebpf/sock4-connect@node-1'] },
  { stage: 'maglev build', prefixes: ['maglev/build'] },
  { stage: 'maglev lookup', prefixes: ['maglev/lookup'] },
  { stage: 'whole pipeline', prefixes: ['issue-a/whole', 'issue-b/whole', 'pipeline/whole', 'pipeline-ipvs/whole', 'pipeline-ebpf/whole'] },
];

/** Prefix 'new-conn-' must not match the IPVS rows for the iptables entry, and means its nf4-prerouting row. */
function matches(prefix: string, key: string): boolean {
  if (prefix === 'new-conn-') return key.startsWith('new-conn-') && !key.startsWith('new-conn-ipvs-') && key.endsWith('/nf4-prerouting@node-1');
  if (prefix === 'new-conn-ipvs-') return key.startsWith(prefix) && key.endsWith('/ipvs4-in@node-1');
  return key.startsWith(prefix);
}

export interface CoverageRow {
  readonly stage: string;
  readonly row?: StageResult;
}

/** One line per (issue stage, prefix, engine) that has a row; an issue stage with none gets one empty line. */
export function coverageRows(stages: readonly StageResult[], engines: readonly string[]): CoverageRow[] {
  const out: CoverageRow[] = [];
  for (const c of COVERAGE) {
    const before = out.length;
    for (const p of c.prefixes) {
      for (const e of engines) {
        const hit = stages.filter((s) => s.engine === e && matches(p, s.key));
        if (hit.length > 0) out.push({ stage: c.stage, row: hit[hit.length - 1] });
      }
    }
    if (out.length === before) out.push({ stage: c.stage });
  }
  return out;
}
