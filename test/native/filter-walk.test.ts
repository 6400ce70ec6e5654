import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderNodeRules } from '../../src/kubeproxy/node-rules.js';
import { RecentTable } from '../../src/kubeproxy/recent.js';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT, type Chain, type Match, type Rule, type RuleSet, type Target } from '../../src/kubeproxy/rule.js';
import { walkChain, type KpPacket, type PacketProto, type WalkContext } from '../../src/kubeproxy/walk.js';
import { compileFilter } from '../../src/native/filter-program.js';
import { requireNative } from '../../src/native/loader.js';
import { Prng } from '../../src/util/prng.js';
import { loadCluster } from '../helpers/dataplane-harness.js';
import { assertNativeBuilt } from './parity-helpers.js';

/**
 * The native filter walk (native/src/nffilter.cc over src/native/filter-program.ts) against
 * walk.ts's walkChain on random rule sets and packets: the addon reports ACCEPT exactly when the
 * TypeScript walk ends in ACCEPT with no NAT, no statistic draw and no recent record, no error
 * (missing chain, loop), and then with the same resulting mark; anything else it leaves to TS.
 */
assertNativeBuilt();
const addon = requireNative();

const ADDRS = [0x0a000001, 0x0a000002, 0x0a000101, 0x7f000001, 0xc0a80001];
const PROTOS: Array<[number, PacketProto]> = [[6, 'tcp'], [17, 'udp'], [1, 'icmp'], [132, 'sctp'], [50, 'other']];
const LOCAL = new Set([0x0a000001, 0xc0a80001]);
const USER = ['U0', 'U1', 'U2', 'U3'];

const cidr = fc.record({ addr32: fc.constantFrom(...ADDRS), prefix: fc.constantFrom(0, 8, 16, 24, 31, 32), negate: fc.boolean() })
  .map((c) => ({ addr: 'x', addr32: c.addr32, prefix: c.prefix, negate: c.negate }));
const port = fc.constantFrom(53, 80, 1234, 30080);
const markValue = fc.constantFrom(0, 1, 0x4000, 0x4001, 0xffffffff, 0x80000000);
const ctstate = fc.integer({ min: 0, max: 127 });
const match: fc.Arbitrary<Match> = fc.oneof(
  fc.constant<Match>({ kind: 'comment', comment: 'c' }),
  fc.record({ module: fc.constantFrom('tcp', 'udp', 'sctp', 'icmp' as const), dport: fc.option(port, { nil: undefined }), end: fc.option(port, { nil: undefined }), sport: fc.option(port, { nil: undefined }) })
    .map(({ module, dport, end, sport }): Match => {
      const m: Match = { kind: 'l4', module };
      if (dport !== undefined) m.dport = dport;
      if (dport !== undefined && end !== undefined) m.dportEnd = Math.max(dport, end);
      if (sport !== undefined) m.sport = sport;
      return m;
    }),
  fc.record({ value: markValue, mask: markValue, negate: fc.boolean() }).map((m): Match => ({ kind: 'mark', value: (m.value & m.mask) >>> 0, mask: m.mask, negate: m.negate })),
  fc.record({ src: fc.boolean(), dst: fc.boolean(), ns: fc.boolean(), nd: fc.boolean() })
    .map((a): Match => ({ kind: 'addrtype', ...(a.src ? { srcType: 'LOCAL' as const, negateSrc: a.ns } : {}), ...(a.dst ? { dstType: 'LOCAL' as const, negateDst: a.nd } : {}) })),
  fc.constant<Match>({ kind: 'statistic', requested: 0.5, fixed: 0x40000000 }),
  fc.constantFrom<Match>({ kind: 'recent', mode: 'set', name: 'r', mask: '255.255.255.255' }, { kind: 'recent', mode: 'rcheck', name: 'r', seconds: 10, reap: true, mask: '255.255.255.255' }),
  fc.record({ ctstate, negate: fc.boolean() }).map((m): Match => ({ kind: 'conntrack', ctstate: m.ctstate, negate: m.negate })),
);
const chainName = fc.constantFrom(...USER, 'MISSING');
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 3, arbitrary: chainName.map((chain): Target => ({ kind: 'jump', chain })) },
  chainName.map((chain): Target => ({ kind: 'goto', chain })),
  { weight: 2, arbitrary: fc.constant<Target>({ kind: 'RETURN' }) },
  { weight: 2, arbitrary: fc.record({ value: markValue, mask: markValue }).map((a): Target => ({ kind: 'MARK', args: a })) },
  { weight: 3, arbitrary: fc.constant<Target>({ kind: 'ACCEPT' }) },
  fc.constant<Target>({ kind: 'DROP' }),
  fc.constant<Target>({ kind: 'REJECT', args: { rejectWith: 'icmp-port-unreachable' } }),
  fc.constant<Target>({ kind: 'DNAT', args: { addr: '10.0.0.2', addr32: 0x0a000002, port: 80 } }),
  fc.constant<Target>({ kind: 'MASQUERADE', args: { randomFully: true } }),
);
const rule = fc.record({
  src: fc.option(cidr, { nil: undefined }),
  dst: fc.option(cidr, { nil: undefined }),
  protocol: fc.option(fc.constantFrom('tcp', 'udp', 'sctp', 'icmp' as const), { nil: undefined }),
  matches: fc.array(match, { maxLength: 3 }),
  target,
});
const ruleSet: fc.Arbitrary<RuleSet> = fc.record({
  builtins: fc.array(fc.record({ rules: fc.array(rule, { maxLength: 5 }), drop: fc.boolean() }), { minLength: 3, maxLength: 3 }),
  users: fc.array(fc.array(rule, { maxLength: 4 }), { minLength: 4, maxLength: 4 }),
}).map(({ builtins, users }) => {
  // Gotos go to later user chains only: a goto cycle stops walk.ts with KP_CHAIN_LOOP (tested in test/kubeproxy).
  const rank = (name: string): number => USER.indexOf(name);
  const mk = (name: string, builtin: boolean, policy: Chain['policy'], rs: typeof builtins[0]['rules']): Chain => ({
    name, builtin, policy, rules: rs.map((r): Rule => {
      const t: Target = r.target.kind === 'goto' && rank(r.target.chain) >= 0 && rank(r.target.chain) <= rank(name) ? { kind: 'goto', chain: 'MISSING' } : r.target;
      const out: Rule = { table: 'filter', chain: name, matches: r.matches, target: t };
      if (r.src) out.src = r.src;
      if (r.dst) out.dst = r.dst;
      if (r.protocol) out.protocol = r.protocol;
      return out;
    }),
  });
  const filter = [
    ...['INPUT', 'FORWARD', 'OUTPUT'].map((n, i) => mk(n, true, builtins[i]!.drop ? 'DROP' : 'ACCEPT', builtins[i]!.rules)),
    ...USER.map((n, i) => mk(n, false, null, users[i]!)),
  ];
  return { node: 'n', tables: { filter, nat: [] } };
});
const packet = fc.record({
  src32: fc.constantFrom(...ADDRS), dst32: fc.constantFrom(...ADDRS), proto: fc.constantFrom(...PROTOS),
  sport: port, dport: port, mark: markValue, ctstate,
});

/** walk.ts's verdict, or null when the native walk must leave the packet to TS. */
interface Pkt { src32: number; dst32: number; proto: [number, PacketProto]; sport: number; dport: number; mark: number; ctstate: number }

function tsWalk(rs: RuleSet, chain: string, p: Pkt): number | null {
  const rng = new Prng(7);
  const recent = new RecentTable();
  let sideEffects = 0;
  const draw = rng.nextU32.bind(rng);
  rng.nextU32 = () => { sideEffects++; return draw(); };
  const set = recent.set.bind(recent);
  const rcheck = recent.rcheck.bind(recent);
  recent.set = (...a) => { sideEffects++; set(...a); };
  recent.rcheck = (...a) => { sideEffects++; return rcheck(...a); };
  const ctx: WalkContext = { rng, recent, now: 100 };
  const pkt: KpPacket = {
    src32: p.src32, dst32: p.dst32, proto: p.proto[1], sport: p.sport, dport: p.dport, mark: p.mark,
    srcIsLocal: LOCAL.has(p.src32), dstIsLocal: LOCAL.has(p.dst32), ctstate: p.ctstate,
  };
  try {
    const r = walkChain(rs, 'filter', chain, pkt, ctx);
    if (r.verdict !== 'ACCEPT' || r.nat !== null || sideEffects > 0) return null;
  } catch {
    return null;
  }
  return pkt.mark >>> 0;
}

function nativeWalk(h: ReturnType<typeof addon.attachFilter>, chain: number, p: Pkt): number | null {
  // fillKp gives ports only for TCP/UDP.
  const ports = p.proto[0] === 6 || p.proto[0] === 17;
  const r = addon.filterWalk(h, chain, Uint32Array.of(p.src32, p.dst32, p.proto[0], ports ? p.sport : 0, ports ? p.dport : 0, p.mark, p.ctstate));
  return r < 0 ? null : r;
}

describe('native filter walk = walk.ts', () => {
  it('random rule sets and packets: ACCEPT and the mark exactly when walkChain accepts without side effects', () => {
    fc.assert(fc.property(ruleSet, fc.array(packet, { minLength: 1, maxLength: 12 }), (rs, pkts) => {
      const prog = compileFilter(rs, LOCAL);
      const h = addon.attachFilter(prog);
      for (const p of pkts) {
        const q = { ...p, sport: p.proto[0] === 6 || p.proto[0] === 17 ? p.sport : 0, dport: p.proto[0] === 6 || p.proto[0] === 17 ? p.dport : 0 };
        for (const [name, idx] of [['INPUT', prog.input], ['FORWARD', prog.forward], ['OUTPUT', prog.output]] as const) {
          expect(nativeWalk(h, idx, q)).toBe(tsWalk(rs, name, q));
        }
      }
    }), { numRuns: 400, seed: 0x5eed });
  });

  it("kube-proxy's rules: NEW and ESTABLISHED packets, every ctstate the hooks see", () => {
    const cluster = loadCluster();
    for (const node of cluster.nodes) {
      const rs = renderNodeRules(cluster, node.name);
      const prog = compileFilter(rs, LOCAL);
      const h = addon.attachFilter(prog);
      let accepted = 0;
      for (const st of [CT_NEW, CT_ESTABLISHED, CT_RELATED, CT_INVALID, CT_NEW | CT_DNAT, CT_ESTABLISHED | CT_SNAT, CT_NEW | CT_SNAT | CT_DNAT]) {
        for (const dst of [...ADDRS, cluster.services[0]!.clusterIp32 ?? 0]) {
          for (const [proto, mark] of [[6, 0], [17, 0x4000], [1, 0]] as const) {
            const p = { src32: ADDRS[0]!, dst32: dst >>> 0, proto: PROTOS.find((x) => x[0] === proto)!, sport: 40000, dport: 80, mark, ctstate: st };
            for (const [name, idx] of [['INPUT', prog.input], ['FORWARD', prog.forward], ['OUTPUT', prog.output]] as const) {
              const want = tsWalk(rs, name, p);
              expect(nativeWalk(h, idx, p)).toBe(want);
              if (want !== null) accepted++;
            }
          }
        }
      }
      expect(accepted).toBeGreaterThan(100);
    }
  });

  it('no rules: ACCEPT with the mark untouched', () => {
    const prog = compileFilter(null, LOCAL);
    expect(prog.present).toBe(false);
    expect(addon.filterWalk(addon.attachFilter(prog), -1, Uint32Array.of(1, 2, 6, 3, 4, 0x4000, CT_NEW))).toBe(0x4000);
  });

  it('a malformed program is refused at attach', () => {
    expect(() => addon.attachFilter({ words: Uint32Array.of(1, 4, 99, 0), local: new Uint32Array(0), present: true, input: 0, output: -1, forward: -1, forwardEstablished: false })).toThrow(/malformed/);
  });
});
