import { describe, expect, it } from 'vitest';
import * as C from '../../src/conntrack/index.js';
import { ip, table } from './helpers.js';

const A = ip('10.244.1.5');
const B = ip('10.244.3.9');

function udp(t: C.ConntrackTable, fromA: boolean, now: number, sport = 41000, dport = 53): number {
  const n = fromA ? t.track(C.IPPROTO_UDP, 0, A, B, sport, dport, now) : t.track(C.IPPROTO_UDP, 0, B, A, dport, sport, now);
  if (n >= 0 && !t.isConfirmed(n >> 1)) t.confirm(n >> 1, now);
  return n;
}

describe('UDP', () => {
  it('unreplied 30 s; a reply within 2 s keeps 30 s and is not ASSURED (as the captured 41000 -> 53 line)', () => {
    const t = table();
    udp(t, true, 0);
    expect(t.remaining(0, 0)).toBe(30);
    expect(udp(t, false, 0.01)).toBe(1);
    expect(t.status[0]! & C.IPS_SEEN_REPLY).toBeTruthy();
    expect(t.status[0]! & C.IPS_ASSURED).toBe(0);
    expect(t.remaining(0, 0.01)).toBe(30);
    udp(t, true, 1.5); // still inside stream_ts
    expect(t.status[0]! & C.IPS_ASSURED).toBe(0);
    expect(t.remaining(0, 1.5)).toBe(30);
  });

  it('traffic after 2 s with a reply seen: stream timeout 120 and ASSURED', () => {
    const t = table();
    udp(t, true, 0);
    udp(t, false, 0.01);
    udp(t, true, 2.2);
    expect(t.status[0]! & C.IPS_ASSURED).toBe(C.IPS_ASSURED);
    expect(t.remaining(0, 2.2)).toBe(120);
  });

  it('no reply: never ASSURED, however long it lasts', () => {
    const t = table();
    for (let i = 0; i < 10; i++) udp(t, true, i * 5);
    expect(t.status[0]! & (C.IPS_ASSURED | C.IPS_SEEN_REPLY)).toBe(0);
  });
});

describe('ICMP', () => {
  const echo = C.icmpPort(C.ICMP_ECHO, 0);
  const reply = C.icmpPort(C.ICMP_ECHOREPLY, 0);

  it('echo request creates an entry whose reply tuple is the echo reply; the reply finds it in REPLY direction', () => {
    const t = table();
    const n = t.track(C.IPPROTO_ICMP, 0, A, B, 30325, echo, 0);
    expect(n).toBe(0);
    t.confirm(0, 0);
    expect(t.tDport[1]).toBe(reply);
    expect(t.tSport[1]).toBe(30325);
    expect(t.track(C.IPPROTO_ICMP, 0, B, A, 30325, reply, 0.001)).toBe(1);
    expect(t.lastCtinfo).toBe(C.IP_CT_ESTABLISHED_REPLY);
    expect(t.remaining(0, 0.001)).toBe(30);
  });

  it('an echo reply or an error type cannot start an entry (INVALID)', () => {
    const t = table();
    expect(t.track(C.IPPROTO_ICMP, 0, B, A, 1, reply, 0)).toBe(C.CT_INVALID);
    expect(t.track(C.IPPROTO_ICMP, 0, B, A, 0, C.icmpPort(3, 3), 0)).toBe(C.CT_INVALID);
    expect(t.stats.invalid).toBe(2);
    expect(t.count).toBe(0);
  });

  it('ICMP errors are RELATED to the entry of the quoted header', () => {
    const t = table();
    udp(t, true, 0, 41001, 6000);
    // B answers port unreachable quoting A -> B udp 41001 -> 6000: travels in REPLY direction
    expect(C.icmpIsError(C.ICMP_DEST_UNREACH)).toBe(true);
    expect(t.lookupRelated(C.IPPROTO_UDP, 0, A, B, 41001, 6000, 0.1)).toBe(1);
    expect(t.lastCtinfo).toBe(C.IP_CT_RELATED_REPLY);
    // a router on A's side reporting a reply packet (B -> A) quoted: ORIGINAL direction
    expect(t.lookupRelated(C.IPPROTO_UDP, 0, B, A, 6000, 41001, 0.1)).toBe(0);
    expect(t.lastCtinfo).toBe(C.IP_CT_RELATED);
    expect(t.lookupRelated(C.IPPROTO_UDP, 0, A, B, 41001, 6001, 0.1)).toBe(-1);
    // quoted ICMP echo
    const e = t.track(C.IPPROTO_ICMP, 0, A, B, 7, echo, 0) >> 1;
    t.confirm(e, 0);
    expect(t.lookupRelated(C.IPPROTO_ICMP, 0, A, B, 7, echo, 0.1)).toBe(e * 2 + 1);
    expect(t.remaining(e, 0.1)).toBe(29); // not refreshed by the error
  });

  it('generic protocols: no ports, 600 s', () => {
    const t = table();
    const n = t.track(47, 0, A, B, 1234, 5678, 0);
    t.confirm(n >> 1, 0);
    expect(t.tSport[0]).toBe(0);
    expect(t.remaining(0, 0)).toBe(600);
    expect(t.track(47, 0, B, A, 0, 0, 1)).toBe(1);
  });
});
