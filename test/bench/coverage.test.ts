import { describe, expect, it } from 'vitest';
import { COVERAGE, coverageRows } from '../../src/bench/coverage.js';
import type { StageResult } from '../../src/bench/types.js';

const row = (key: string, engine = 'ts'): StageResult => ({ key, suite: key.split('/')[0], stage: key, engine, model: '-', p50Ns: 1, p99Ns: 2, meanNs: 1, packetsPerSec: 1e9, packetsPerCall: 256, samples: 1 });

describe('issue stage coverage', () => {
  it('lists every stage the issue names, veth and route included', () => {
    const names = COVERAGE.map((c) => c.stage);
    for (const s of ['parse', 'veth', 'route', 'vxlan encap', 'vxlan decap', 'ct lookup hit', 'ct lookup miss', 'ct insert', 'iptables service chain', 'ipvs', 'socket LB', 'maglev build', 'maglev lookup', 'whole pipeline']) {
      expect(names).toContain(s);
    }
  });

  it('maps rows per engine, keeps iptables and IPVS new-connection rows apart, and shows unmeasured stages', () => {
    const stages = [
      row('pipeline/veth-xmit@node-1'), row('pipeline/veth-xmit@node-1', 'native'),
      row('new-conn-1000svc/nf4-prerouting@node-1'), row('new-conn-1000svc/ipvs4-in@node-1'),
      row('new-conn-ipvs-1000svc/ipvs4-in@node-1'), row('new-conn-ipvs-1000svc/nf4-prerouting@node-1'),
      row('policy/decide-ebpf@10'), row('policy/decide-ebpf@1000'),
    ];
    const cov = coverageRows(stages, ['ts', 'native']);
    const of = (name: string) => cov.filter((c) => c.stage === name).map((c) => c.row ? `${c.row.key} [${c.row.engine}]` : 'none');
    expect(of('veth')).toEqual(['pipeline/veth-xmit@node-1 [ts]', 'pipeline/veth-xmit@node-1 [native]']);
    expect(of('iptables service chain')).toEqual(['new-conn-1000svc/nf4-prerouting@node-1 [ts]']);
    expect(of('ipvs')).toEqual(['new-conn-ipvs-1000svc/ipvs4-in@node-1 [ts]']);
    expect(of('policy, eBPF model')).toEqual(['policy/decide-ebpf@1000 [ts]']);
    expect(of('route')).toEqual(['none']);
  });
});
