import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as C from '../../src/conntrack/index.js';
import { KERNEL_CT_TIMEOUTS } from '../../src/scenario/defaults.js';
import { A, F, S, ip, table } from './helpers.js';

/** Lines captured from conntrack -L on kernel 6.18 (see fixtures/run.sh), keyed by a unique substring. */
const FIX = readFileSync(new URL('./fixtures/conntrack-L.txt', import.meta.url), 'utf8').split('\n').filter((l) => l.includes('='));
const FIX_EXT = readFileSync(new URL('./fixtures/conntrack-L-extended.txt', import.meta.url), 'utf8').split('\n').filter((l) => l.includes('='));
const fix = (key: string) => {
  const l = FIX.find((x) => x.includes(key));
  if (!l) throw new Error(`fixture line with ${key} missing`);
  return l;
};

const CLI = ip('10.244.1.5');
const VIP = ip('10.96.5.20');
const POD = ip('10.244.3.9');

/** Re-create the captured conversations with the kernel's default timeouts (the namespaces had no kube-proxy). */
function build() {
  const t = table(64, KERNEL_CT_TIMEOUTS);
  const tcp = (sport: number, dst: number, dport: number, dnatTo: number, now: number) => {
    const n = t.track(C.IPPROTO_TCP, 0, CLI, dst, sport, dport, now, S, 100, 0, 64240, 0);
    if (dnatTo) t.dnat(n >> 1, POD, 8080);
    t.confirm(n >> 1, now);
    return n >> 1;
  };
  const fromPod = (sport: number, dport: number, now: number, flags: number, seq: number, ack: number) =>
    t.track(C.IPPROTO_TCP, 0, POD, CLI, sport, dport, now, flags, seq, ack, 65000, 0);
  const fromCli = (sport: number, dst: number, dport: number, now: number, flags: number, seq: number, ack: number, len = 0) =>
    t.track(C.IPPROTO_TCP, 0, CLI, dst, sport, dport, now, flags, seq, ack, 64000, len);

  // 40006: full connection closed by the client -> TIME_WAIT
  const tw = tcp(40006, VIP, 80, POD, 0);
  fromPod(8080, 40006, 0, S | A, 900, 101);
  fromCli(40006, VIP, 80, 0, A, 101, 901);
  fromCli(40006, VIP, 80, 0, A, 101, 901, 5);
  fromPod(8080, 40006, 0, A, 901, 106);
  fromPod(8080, 40006, 0, A, 901, 106, );
  fromPod(8080, 40006, 0.1, F | A, 901, 106);
  fromCli(40006, VIP, 80, 0.1, F | A, 106, 902);
  fromPod(8080, 40006, 0.1, A, 902, 107);
  // 40007: client half-closed -> CLOSE_WAIT
  const cw = tcp(40007, VIP, 80, POD, 0);
  fromPod(8080, 40007, 0, S | A, 900, 101);
  fromCli(40007, VIP, 80, 0, A, 101, 901);
  fromCli(40007, VIP, 80, 6, F | A, 101, 901);
  fromPod(8080, 40007, 6, A, 901, 102);
  // 40008: SYN never answered
  const ss = tcp(40008, POD, 9999, 0, 0.5);
  // ICMP echo
  const ic = t.track(C.IPPROTO_ICMP, 0, CLI, POD, 30325, C.icmpPort(8, 0), 6) >> 1;
  t.confirm(ic, 6);
  t.track(C.IPPROTO_ICMP, 0, POD, CLI, 30325, C.icmpPort(0, 0), 6);
  // UDP: replied once; zone 1 unreplied; mark 5; unreplied; stream
  const udp = (sport: number, dport: number, now: number, zone = 0) => {
    const n = t.track(C.IPPROTO_UDP, zone, CLI, POD, sport, dport, now);
    if (n >= 0 && !t.isConfirmed(n >> 1)) t.confirm(n >> 1, now);
    return n >> 1;
  };
  const reply = (sport: number, dport: number, now: number) => t.track(C.IPPROTO_UDP, 0, POD, CLI, dport, sport, now);
  // the UDP flows ran about half a second after the TCP ones
  const u53 = udp(41000, 53, 0.5); reply(41000, 53, 0.51);
  const uz = udp(41002, 5353, 0.5, 1);
  const um = udp(41003, 7000, 0.5); reply(41003, 7000, 0.51); t.mark[um] = 5;
  const uu = udp(41001, 6000, 0.5);
  const us = udp(41004, 6001, 0.5); reply(41004, 6001, 0.51); udp(41004, 6001, 2.7);
  return { t, tw, cw, ss, ic, u53, uz, um, uu, us };
}

describe('conntrack -L lines match the real tool', () => {
  const now = 6.1;
  const b = build();
  const line = (e: number) => C.formatConntrack(b.t, e, now);

  it('tcp TIME_WAIT behind DNAT [ASSURED]', () => expect(line(b.tw)).toBe(fix('sport=40006')));
  it('tcp CLOSE_WAIT', () => expect(line(b.cw)).toBe(fix('sport=40007')));
  it('tcp SYN_SENT [UNREPLIED]', () => expect(line(b.ss)).toBe(fix('sport=40008')));
  it('icmp echo pair', () => expect(line(b.ic)).toBe(fix('icmp')));
  it('udp replied, not assured', () => expect(line(b.u53)).toBe(fix('sport=41000')));
  it('udp zone=1 [UNREPLIED]', () => expect(line(b.uz)).toBe(fix('zone=1')));
  it('udp mark=5', () => expect(line(b.um)).toBe(fix('mark=5')));
  it('udp unreplied', () => expect(line(b.uu)).toBe(fix('sport=41001')));
  it('udp stream [ASSURED] 120 s', () => expect(C.formatConntrack(b.t, b.us, 6.1)).toBe(fix('sport=41004')));
  it('-o extended prefix', () => {
    const want = FIX_EXT.find((l) => l.includes('sport=40008'));
    expect(C.formatConntrack(b.t, b.ss, now, true)).toBe(want);
  });
  it('remaining seconds round down and stop at 0', () => {
    expect(b.t.remaining(b.ss, 1)).toBe(119);
    expect(b.t.remaining(b.ss, 1000)).toBe(0);
  });
});

describe('conntrack -S line', () => {
  // fixtures/conntrack-S.txt: kernel 6.18's per-CPU lines after the same traffic. That kernel no longer
  // counts found/insert (every field prints 0); the line's layout is what is compared: "cpu=N", spaces,
  // a tab, the fields in order, a trailing space.
  const kernel = readFileSync(new URL('./fixtures/conntrack-S.txt', import.meta.url), 'utf8').split('\n')[0];
  it('a fresh table prints the kernel\'s cpu=0 line byte for byte', () => {
    expect(C.formatConntrackStats(table(64, KERNEL_CT_TIMEOUTS))).toBe(kernel);
  });
  it('counters appear in their fields', () => {
    const t = table(64, KERNEL_CT_TIMEOUTS);
    t.stats.found = 3;
    t.stats.early_drop = 2;
    expect(C.formatConntrackStats(t)).toBe(kernel.replace('found=0', 'found=3').replace('early_drop=0', 'early_drop=2'));
  });
});
