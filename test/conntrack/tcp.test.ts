import { describe, expect, it } from 'vitest';
import * as C from '../../src/conntrack/index.js';
import { KERNEL_CT_TIMEOUTS } from '../../src/scenario/defaults.js';
import { A, F, P, R, S, ip, table } from './helpers.js';

const CLI = ip('10.244.1.5');
const SRV = ip('10.244.3.9');

/** A client<->server TCP conversation driven through track() (lookup/create/update) and confirm(). */
function conv(t = table(), cport = 40006) {
  let cseq = 1000;
  let sseq = 5000;
  const send = (fromClient: boolean, flags: number, now: number, len = 0, seqOverride?: number) => {
    const node = fromClient
      ? t.track(C.IPPROTO_TCP, 0, CLI, SRV, cport, 80, now, flags, seqOverride ?? cseq, sseq, 64000, len)
      : t.track(C.IPPROTO_TCP, 0, SRV, CLI, 80, cport, now, flags, seqOverride ?? sseq, cseq, 64000, len);
    const adv = len + (flags & S ? 1 : 0) + (flags & F ? 1 : 0);
    if (fromClient) cseq += adv; else sseq += adv;
    if (node >= 0 && !t.isConfirmed(node >> 1) && t.isLive(node >> 1)) t.confirm(node >> 1, now);
    return node;
  };
  return { t, send };
}

const state = (t: C.ConntrackTable, n: number) => C.TCP_CONNTRACK_NAMES[t.tcpState[n >> 1]!];

describe('TCP state machine (tcp_conntracks)', () => {
  it('handshake: SYN_SENT 120 -> SYN_RECV 60 -> ESTABLISHED 86400 [ASSURED]', () => {
    const { t, send } = conv();
    const n = send(true, S, 0);
    expect(n).toBe(0);
    expect(t.lastCtinfo).toBe(C.IP_CT_NEW);
    expect(state(t, n)).toBe('SYN_SENT');
    expect(t.remaining(0, 0)).toBe(120);
    expect(send(false, S | A, 0.001)).toBe(1);
    expect(t.lastCtinfo).toBe(C.IP_CT_ESTABLISHED_REPLY);
    expect(state(t, 1)).toBe('SYN_RECV');
    expect(t.remaining(0, 0.001)).toBe(60);
    expect(t.status[0]! & C.IPS_ASSURED).toBe(0);
    send(true, A, 0.002);
    expect(t.lastCtinfo).toBe(C.IP_CT_ESTABLISHED);
    expect(state(t, 0)).toBe('ESTABLISHED');
    expect(t.status[0]! & C.IPS_ASSURED).toBe(C.IPS_ASSURED);
    expect(t.remaining(0, 0.002)).toBe(86400);
  });

  it('close as on a real node: FIN_WAIT 120 -> LAST_ACK 30 -> TIME_WAIT 120', () => {
    const { t, send } = conv();
    send(true, S, 0); send(false, S | A, 0); send(true, A, 0);
    send(true, F | A, 1);
    expect(state(t, 0)).toBe('FIN_WAIT');
    expect(t.remaining(0, 1)).toBe(120);
    send(false, F | A, 1.1);
    expect(state(t, 0)).toBe('LAST_ACK');
    expect(t.remaining(0, 1.1)).toBe(30);
    send(true, A, 1.2);
    expect(state(t, 0)).toBe('TIME_WAIT');
    expect(t.remaining(0, 1.2)).toBe(120);
    send(true, A, 1.3); // retransmitted last ACK stays
    expect(state(t, 0)).toBe('TIME_WAIT');
  });

  it('half close: FIN then bare ACK -> CLOSE_WAIT with the configured timeout (3600 kube-proxy, 60 kernel)', () => {
    for (const [timeouts, want] of [[undefined, 3600], [KERNEL_CT_TIMEOUTS, 60]] as const) {
      const { t, send } = conv(table(16, timeouts));
      send(true, S, 0); send(false, S | A, 0); send(true, A, 0);
      send(true, F | A, 1);
      send(false, A, 1);
      expect(state(t, 0)).toBe('CLOSE_WAIT');
      expect(t.remaining(0, 1)).toBe(want);
    }
  });

  it('simultaneous open: SYN, SYN from reply (SYN_SENT2), SYN/ACK, ACK -> ESTABLISHED', () => {
    const { t, send } = conv();
    send(true, S, 0);
    send(false, S, 0.1);
    expect(state(t, 0)).toBe('SYN_SENT2');
    expect(t.lastFlags[0]! & C.IP_CT_TCP_SIMULTANEOUS_OPEN).toBeTruthy();
    send(true, S | A, 0.2);
    expect(state(t, 0)).toBe('SYN_RECV');
    send(false, A, 0.3);
    expect(state(t, 0)).toBe('ESTABLISHED');
  });

  it('RST in ESTABLISHED -> CLOSE with the close timeout (10)', () => {
    const { t, send } = conv();
    send(true, S, 0); send(false, S | A, 0); send(true, A, 0);
    send(false, R | A, 5);
    expect(state(t, 0)).toBe('CLOSE');
    expect(t.remaining(0, 5)).toBe(10);
  });

  it('RST as the only answer to a SYN kills the entry', () => {
    const { t, send } = conv();
    send(true, S, 0);
    expect(t.count).toBe(1);
    expect(t.update(1, 0.1, R | A, 0, 1001, 0, 0)).toBe(C.CT_KILLED);
    expect(t.count).toBe(0);
    expect(t.lookup(C.IPPROTO_TCP, 0, CLI, SRV, 40006, 80, 0.2)).toBe(-1);
  });

  it('SYN retransmission does not refresh the SYN_SENT timeout', () => {
    const { t, send } = conv();
    send(true, S, 0);
    send(true, S, 3, 0, 1000);
    expect(t.remaining(0, 3)).toBe(117);
  });

  it('loose pickup: mid-stream ACK creates ESTABLISHED capped at unacknowledged (300), ASSURED on the packet after the answer', () => {
    const { t, send } = conv();
    const n = send(true, A | P, 10, 100);
    expect(n).toBe(0);
    expect(state(t, 0)).toBe('ESTABLISHED');
    expect(t.remaining(0, 10)).toBe(300);
    expect(t.status[0]! & C.IPS_ASSURED).toBe(0);
    expect(t.tcpFlags[0]! & C.IP_CT_TCP_FLAG_BE_LIBERAL).toBeTruthy();
    send(false, A, 10.1);
    // SEEN_REPLY is set after the handler ran (nf_conntrack_in), so the answer itself is still "unreplied"
    expect(t.status[0]! & C.IPS_ASSURED).toBe(0);
    expect(t.remaining(0, 10.1)).toBe(300);
    send(true, A, 10.2);
    expect(t.status[0]! & C.IPS_ASSURED).toBe(C.IPS_ASSURED);
    expect(t.remaining(0, 10.2)).toBe(86400);
  });

  it('tcp_loose=0 refuses to pick up: INVALID, counted, nothing left behind', () => {
    const t = table(16, undefined, { tcpLoose: false });
    expect(t.track(C.IPPROTO_TCP, 0, CLI, SRV, 1, 80, 0, A, 1, 1, 100, 0)).toBe(C.CT_INVALID);
    expect(t.stats.invalid).toBe(1);
    expect(t.count).toBe(0);
  });

  it('INVALID packets: SYN/ACK or FIN first, ACK from client in SYN_SENT, bad flag combinations', () => {
    const t = table();
    expect(t.track(C.IPPROTO_TCP, 0, CLI, SRV, 1, 80, 0, S | A)).toBe(C.CT_INVALID);
    expect(t.track(C.IPPROTO_TCP, 0, CLI, SRV, 2, 80, 0, F | A)).toBe(C.CT_INVALID);
    expect(t.track(C.IPPROTO_TCP, 0, CLI, SRV, 3, 80, 0, F)).toBe(C.CT_INVALID); // FIN without ACK
    expect(t.track(C.IPPROTO_TCP, 0, CLI, SRV, 4, 80, 0, S | F)).toBe(C.CT_INVALID);
    expect(t.track(C.IPPROTO_TCP, 0, CLI, SRV, 5, 80, 0, 0)).toBe(C.CT_INVALID);
    expect(t.count).toBe(0);
    const n = t.track(C.IPPROTO_TCP, 0, CLI, SRV, 6, 80, 0, S);
    t.confirm(n >> 1, 0);
    expect(t.track(C.IPPROTO_TCP, 0, CLI, SRV, 6, 80, 1, A)).toBe(C.CT_INVALID);
    expect(t.stats.invalid).toBe(6);
    expect(state(t, n)).toBe('SYN_SENT'); // unchanged
  });

  it('ignored packets (sIG): SYN inside ESTABLISHED, ACK from server in SYN_SENT', () => {
    const { t, send } = conv();
    send(true, S, 0);
    expect(t.update(1, 0.1, A, 1, 1, 100, 0)).toBe(C.CT_IGNORED);
    expect(state(t, 0)).toBe('SYN_SENT');
    send(false, S | A, 0.2); send(true, A, 0.3);
    expect(t.update(0, 1, S, 77, 0, 100, 0)).toBe(C.CT_IGNORED);
    expect(state(t, 0)).toBe('ESTABLISHED');
  });

  it('SYN in TIME_WAIT reopens: entry deleted and recreated in SYN_SENT', () => {
    const { t, send } = conv();
    send(true, S, 0); send(false, S | A, 0); send(true, A, 0);
    send(true, F | A, 1); send(false, F | A, 1); send(true, A, 1);
    expect(state(t, 0)).toBe('TIME_WAIT');
    const n = t.track(C.IPPROTO_TCP, 0, CLI, SRV, 40006, 80, 2, S, 90000, 0, 64000, 0);
    expect(n).toBeGreaterThanOrEqual(0);
    expect(t.isConfirmed(n >> 1)).toBe(false);
    expect(state(t, n)).toBe('SYN_SENT');
    expect(t.count).toBe(1);
  });

  it('unacknowledged data caps the timeout at 300 until the peer ACKs it', () => {
    const { t, send } = conv();
    send(true, S, 0); send(false, S | A, 0); send(true, A, 0);
    send(true, A | P, 1, 500);
    expect(t.remaining(0, 1)).toBe(300);
    send(false, A, 1.1);
    expect(t.remaining(0, 1.1)).toBe(86400);
  });

  it('three identical retransmissions switch to the max_retrans timeout (300)', () => {
    const { t, send } = conv();
    send(true, S, 0); send(false, S | A, 0); send(true, A, 0);
    send(false, A, 0.5);
    for (let i = 0; i < 4; i++) send(false, A, 1 + i, 0, 5001);
    expect(t.retrans[0]).toBeGreaterThanOrEqual(3);
    expect(t.remaining(0, 4)).toBe(300);
  });

  it('get_conntrack_index derivation', () => {
    expect(C.tcpConntrackIndex(R | A | S)).toBe(C.TCP_RST_SET);
    expect(C.tcpConntrackIndex(S)).toBe(C.TCP_SYN_SET);
    expect(C.tcpConntrackIndex(S | A)).toBe(C.TCP_SYNACK_SET);
    expect(C.tcpConntrackIndex(F | A)).toBe(C.TCP_FIN_SET);
    expect(C.tcpConntrackIndex(A | P)).toBe(C.TCP_ACK_SET);
    expect(C.tcpConntrackIndex(P)).toBe(C.TCP_NONE_SET);
  });

  it('kernel table spot checks (rows from nf_conntrack_proto_tcp.c)', () => {
    const T = C.tcpTransition;
    expect(T(0, C.TCP_SYNACK_SET, C.TCP_CONNTRACK_SYN_RECV)).toBe(C.TCP_CONNTRACK_SYN_RECV);
    expect(T(0, C.TCP_SYNACK_SET, C.TCP_CONNTRACK_ESTABLISHED)).toBe(C.TCP_CONNTRACK_MAX);
    expect(T(1, C.TCP_SYN_SET, C.TCP_CONNTRACK_TIME_WAIT)).toBe(C.TCP_CONNTRACK_SYN_SENT);
    expect(T(1, C.TCP_ACK_SET, C.TCP_CONNTRACK_SYN_SENT2)).toBe(C.TCP_CONNTRACK_IGNORE);
    expect(T(0, C.TCP_FIN_SET, C.TCP_CONNTRACK_SYN_SENT2)).toBe(C.TCP_CONNTRACK_MAX);
    for (let s = 1; s < 10; s++) expect(T(0, C.TCP_RST_SET, s)).toBe(C.TCP_CONNTRACK_CLOSE);
    for (let s = 0; s < 10; s++) expect(T(1, C.TCP_NONE_SET, s)).toBe(C.TCP_CONNTRACK_MAX);
  });
});
