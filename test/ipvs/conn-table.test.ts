import { describe, expect, test } from 'vitest';
import {
  Ipvs, IpvsResult, makeRealServer, formatIpvsadm, IPPROTO_TCP, IPPROTO_UDP, IPVS_HIT, IPVS_NO_DEST, IPVS_NO_SERVICE, IPVS_NO_CONN,
  IPVS_PASS_NOT_SYN, ConnState, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type IpvsService,
} from '../../src/ipvs/index.js';
import { parseIpv4 } from '../../src/scenario/ipv4.js';

const ip = (s: string) => parseIpv4(s)! >>> 0;
const VIP = ip('10.96.5.20');
const CLIENT = ip('10.244.1.5');
function service(proto: 'TCP' | 'UDP', dests: string[], persistent = 0): IpvsService {
  return {
    protocol: proto, vip: '10.96.5.20', vip32: VIP, port: 80, scheduler: 'rr', persistentTimeout: persistent, netmask32: 0xffffffff,
    schedFallback: false, schedPort: false, kind: 'ClusterIP', servicePortName: 'default/web:http', local: false,
    dests: dests.map((d) => makeRealServer(d, ip(d), 8080)),
  };
}

describe('IPVS connection table', () => {
  test('SYN schedules, later packets of the flow hit the same real server; replies map back to the VIP', () => {
    const ipvs = new Ipvs([service('TCP', ['10.244.2.8', '10.244.3.9'])], { connCapacity: 64 });
    const r = new IpvsResult();
    expect(ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40000, VIP, 80, TCP_SYN, 0, r)).toBe(IPVS_HIT);
    expect(r.created).toBe(true);
    const first = r.rsIp32;
    expect(ipvs.conns.state[r.conn]).toBe(ConnState.SYN_RECV);
    expect(ipvs.services[0].dests[r.destIndex].inactConns).toBe(1);
    // reply SYN-ACK (OUTPUT syn: SYN_RECV stays), client ACK -> ESTABLISHED: moves to activeconns
    expect(ipvs.lookupReply(IPPROTO_TCP, first, 8080, CLIENT, 40000, TCP_SYN | TCP_ACK, 0.001, r)).toBe(IPVS_HIT);
    expect(r.vip32).toBe(VIP);
    expect(r.vport).toBe(80);
    ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40000, VIP, 80, TCP_ACK, 0.002, r);
    expect(r.created).toBe(false);
    expect(r.rsIp32).toBe(first);
    expect(ipvs.conns.state[r.conn]).toBe(ConnState.ESTABLISHED);
    const d = ipvs.services[0].dests[r.destIndex];
    expect([d.activeConns, d.inactConns]).toEqual([1, 0]);
    expect(ipvs.conns.expires[r.conn]).toBeCloseTo(900.002);
    // a second client goes to the other dest (rr)
    ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40001, VIP, 80, TCP_SYN, 1, r);
    expect(r.rsIp32).not.toBe(first);
    expect(formatIpvsadm(ipvs.services)).toContain('Masq    1      1          0');
  });

  test('FIN from the client -> CLOSE_WAIT; FIN from the server in ESTABLISHED -> FIN_WAIT with the tcpfin timeout (120 s)', () => {
    const ipvs = new Ipvs([service('TCP', ['10.244.2.8'])], { connCapacity: 64 });
    const r = new IpvsResult();
    ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40000, VIP, 80, TCP_SYN, 0, r);
    ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40000, VIP, 80, TCP_ACK, 0, r);
    ipvs.lookupReply(IPPROTO_TCP, r.rsIp32, 8080, CLIENT, 40000, TCP_FIN | TCP_ACK, 10, r);
    expect(ipvs.conns.state[r.conn]).toBe(ConnState.FIN_WAIT);
    expect(ipvs.conns.expires[r.conn]).toBe(130);
    expect(ipvs.services[0].dests[0].activeConns).toBe(0);
    expect(ipvs.services[0].dests[0].inactConns).toBe(1);
    ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40000, VIP, 80, TCP_ACK, 11, r);
    expect(ipvs.conns.state[r.conn]).toBe(ConnState.FIN_WAIT);
    ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40000, VIP, 80, TCP_RST, 12, r);
    expect(ipvs.conns.state[r.conn]).toBe(ConnState.CLOSE);
    expect(ipvs.conns.expires[r.conn]).toBe(22);
  });

  test('expiry in packet time releases the dest counters; a new SYN after expiry is scheduled again', () => {
    const ipvs = new Ipvs([service('UDP', ['10.244.2.8'])], { connCapacity: 64 });
    const r = new IpvsResult();
    ipvs.lookupOrSchedule(IPPROTO_UDP, CLIENT, 5353, VIP, 80, 0, 0, r);
    expect(ipvs.conns.expires[r.conn]).toBe(300);
    expect(ipvs.services[0].dests[0].inactConns).toBe(1); // UDP connections count as inactive
    ipvs.lookupOrSchedule(IPPROTO_UDP, CLIENT, 5353, VIP, 80, 0, 299, r);
    expect(r.created).toBe(false);
    ipvs.expire(598);
    expect(ipvs.conns.count).toBe(1);
    ipvs.expire(599);
    expect(ipvs.conns.count).toBe(0);
    expect(ipvs.services[0].dests[0].inactConns).toBe(0);
    expect(ipvs.conns.stats.expired).toBe(1);
    ipvs.lookupOrSchedule(IPPROTO_UDP, CLIENT, 5353, VIP, 80, 0, 1000, r);
    expect(r.created).toBe(true);
    // lazily, too: the old entry is dead at lookup time
    ipvs.lookupOrSchedule(IPPROTO_UDP, CLIENT, 5353, VIP, 80, 0, 1300, r);
    expect(r.created).toBe(true);
    expect(ipvs.conns.count).toBe(1);
  });

  test('verdicts: no virtual server, no real server, TCP without SYN', () => {
    const ipvs = new Ipvs([service('TCP', [])], { connCapacity: 16 });
    const r = new IpvsResult();
    expect(ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 1, VIP, 81, TCP_SYN, 0, r)).toBe(IPVS_NO_SERVICE);
    expect(ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 1, VIP, 80, TCP_SYN, 0, r)).toBe(IPVS_NO_DEST);
    expect(ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 1, VIP, 80, TCP_ACK, 0, r)).toBe(IPVS_PASS_NOT_SYN);
    expect(ipvs.lookupReply(IPPROTO_TCP, VIP, 80, CLIENT, 1, TCP_ACK, 0, r)).toBe(IPVS_NO_CONN);
    expect(ipvs.conns.count).toBe(0);
  });

  test('O(1) lookup holds with many connections in the table (collisions resolved by the full key)', () => {
    const ipvs = new Ipvs([service('TCP', ['10.244.2.8', '10.244.3.9', '10.244.4.10'])], { connCapacity: 20000 });
    const r = new IpvsResult();
    const chosen: number[] = [];
    for (let i = 0; i < 15000; i++) {
      ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT + (i >> 10), 1024 + (i & 1023), VIP, 80, TCP_SYN, 0, r);
      chosen.push(r.rsIp32);
    }
    expect(ipvs.conns.count).toBe(15000);
    // O(1): the chains stay short (15,000 connections in 4,096 buckets, 3.7 per bucket on average).
    // Every connection hashed to one bucket would still find each one by its full key.
    const t = ipvs.conns;
    let longest = 0;
    for (let b = 0; b < t.heads.length; b++) {
      let len = 0;
      for (let i = t.heads[b]!; i >= 0; i = t.next[i]!) len++;
      longest = Math.max(longest, len);
    }
    expect(t.heads.length).toBe(4096);
    expect(longest).toBeLessThanOrEqual(16);
    for (let i = 0; i < 15000; i += 7) {
      ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT + (i >> 10), 1024 + (i & 1023), VIP, 80, TCP_ACK, 1, r);
      expect(r.created).toBe(false);
      expect(r.rsIp32).toBe(chosen[i]);
    }
  });
});

describe('persistence (sessionAffinity ClientIP -> persistent 10800)', () => {
  test('every connection of a client goes to the template dest while the template lives', () => {
    const ipvs = new Ipvs([service('TCP', ['10.244.2.8', '10.244.3.9', '10.244.4.10'], 10800)], { connCapacity: 256 });
    const r = new IpvsResult();
    ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40000, VIP, 80, TCP_SYN, 0, r);
    const first = r.rsIp32;
    for (let p = 1; p < 10; p++) {
      ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 40000 + p, VIP, 80, TCP_SYN, p * 100, r);
      expect(r.rsIp32).toBe(first);
    }
    const other = new IpvsResult();
    ipvs.lookupOrSchedule(IPPROTO_TCP, ip('10.244.9.9'), 40000, VIP, 80, TCP_SYN, 1000, other);
    expect(other.rsIp32).not.toBe(first); // rr moved on for a new client
    const d = ipvs.services[0].dests.find((x) => x.ip32 === first)!;
    expect(d.persistConns).toBe(1);
    // last use at t=900: the template lives until 900 + 10800 once its connections are gone
    ipvs.expire(11699);
    ipvs.lookupOrSchedule(IPPROTO_TCP, CLIENT, 50000, VIP, 80, TCP_SYN, 11699, r);
    expect(r.rsIp32).toBe(first);
    ipvs.expire(11699 + 10801);
    expect(d.persistConns).toBe(0);
    expect(ipvs.conns.count).toBe(0);
  });
});
