import { describe, expect, it } from 'vitest';
import { renderNodeRules } from '../../src/kubeproxy/node-rules.js';
import type { Rule, RuleSet } from '../../src/kubeproxy/rule.js';
import { establishedAccepts } from '../../src/native/filter-proof.js';
import { loadCluster } from '../helpers/dataplane-harness.js';

/** The setup-time proof that lets the native filter hooks pass established packets without a walk. */
const cluster = loadCluster();
const rules = (): RuleSet => {
  const rs = renderNodeRules(cluster, 'node-1');
  if (!rs) throw new Error('no rules');
  return structuredClone(rs);
};
const chain = (rs: RuleSet, name: string) => rs.tables.filter.find((c) => c.name === name)!;
const first = (rs: RuleSet, name: string, r: Rule): void => { chain(rs, name).rules.unshift({ ...r, chain: name }); };
const base = (rs: RuleSet): Rule => chain(rs, 'KUBE-FORWARD').rules[0]!;

describe('filter proof: established packets and the filter chains', () => {
  it("kube-proxy's FORWARD (KUBE-FORWARD accepts RELATED,ESTABLISHED) and INPUT are proven", () => {
    const rs = rules();
    expect(establishedAccepts(rs, 'filter', 'FORWARD')).toBe(true);
    expect(establishedAccepts(rs, 'filter', 'INPUT')).toBe(true);
    expect(establishedAccepts(null, 'filter', 'FORWARD')).toBe(true);
  });
  it('a DROP that may match established packets before the ACCEPT breaks the proof', () => {
    const rs = rules();
    first(rs, 'KUBE-FORWARD', { ...base(rs), src: { addr: '10.0.0.0', addr32: 0x0a000000, prefix: 8, negate: false }, matches: [], target: { kind: 'DROP' } } as Rule);
    expect(establishedAccepts(rs, 'filter', 'FORWARD')).toBe(false);
  });
  it('a MARK or a statistic match reached by established packets breaks it; a NEW-only rule does not', () => {
    const a = rules();
    first(a, 'KUBE-FORWARD', { ...base(a), matches: [], target: { kind: 'MARK', args: { value: 1, mask: 1 } } } as Rule);
    expect(establishedAccepts(a, 'filter', 'FORWARD')).toBe(false);
    const b = rules();
    first(b, 'KUBE-FORWARD', { ...base(b), matches: [{ kind: 'statistic', requested: 0.5, fixed: 1 << 30 }], target: { kind: 'ACCEPT' } } as Rule);
    expect(establishedAccepts(b, 'filter', 'FORWARD')).toBe(false);
    const c = rules();
    first(c, 'KUBE-FORWARD', { ...base(c), matches: [{ kind: 'conntrack', ctstate: 2, negate: false }, { kind: 'statistic', requested: 0.5, fixed: 1 << 30 }], target: { kind: 'DROP' } } as Rule);
    expect(establishedAccepts(c, 'filter', 'FORWARD')).toBe(true);
  });
  it('a DROP policy reached by falling through is not proven', () => {
    const rs = rules();
    const fwd = chain(rs, 'FORWARD');
    fwd.rules = [];
    fwd.policy = 'DROP';
    expect(establishedAccepts(rs, 'filter', 'FORWARD')).toBe(false);
    fwd.policy = 'ACCEPT';
    expect(establishedAccepts(rs, 'filter', 'FORWARD')).toBe(true);
  });
});
