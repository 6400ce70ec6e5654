import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { formatIpvsadm, formatIpvsadmConns, Ipvs, IpvsResult, makeRealServer, IPPROTO_TCP, TCP_SYN, type IpvsService } from '../../src/ipvs/index.js';
import { parseIpv4 } from '../../src/scenario/ipv4.js';

const ip = (s: string) => parseIpv4(s)! >>> 0;
function vs(proto: 'TCP' | 'UDP', vip: string, port: number, sched: IpvsService['scheduler'], dests: Array<[string, number, number]>): IpvsService {
  return {
    protocol: proto, vip, vip32: ip(vip), port, scheduler: sched, persistentTimeout: 0, netmask32: 0xffffffff,
    schedFallback: false, schedPort: false, kind: 'ClusterIP', servicePortName: 'x', local: false,
    dests: dests.map(([a, p, w]) => makeRealServer(a, ip(a), p, w)),
  };
}

describe('ipvsadm -Ln text', () => {
  const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

  test('byte-exact against a real kube-proxy IPVS node (kubeadm; empty virtual servers; trailing blanks)', () => {
    const services = [
      vs('UDP', '10.1.0.10', 53, 'rr', []),
      vs('TCP', '10.1.0.10', 9153, 'rr', []),
      vs('TCP', '10.1.0.10', 53, 'rr', []),
      vs('TCP', '10.1.0.1', 443, 'rr', [['10.0.0.11', 6443, 1]]),
    ];
    expect(formatIpvsadm(services)).toBe(fixture('ipvsadm-Ln-kubeadm.txt'));
  });

  test('real capture with two dests (trailing blanks stripped at the source)', () => {
    const got = formatIpvsadm([vs('TCP', '10.0.0.1', 1234, 'rr', [['10.0.1.3', 1234, 1], ['10.0.1.2', 1234, 1]])]);
    expect(got.split('\n').map((l) => l.trimEnd()).join('\n')).toBe(fixture('ipvsadm-Ln-router.txt'));
  });

  test('scheduler flags print as "mh (mh-port)" (real capture: header and service line)', () => {
    const want = fixture('ipvsadm-mh-lvs-list.txt').split('\n').slice(0, 4);
    const s = vs('TCP', '172.16.42.170', 2222, 'mh', []);
    s.schedPort = true;
    expect(formatIpvsadm([s], { size: 1048576 }).split('\n').slice(0, 4)).toEqual(want);
  });

  test('kube-proxy style listing: header, "%-4s %s" service names, padded dest columns, sorted', () => {
    const a = vs('UDP', '10.96.0.10', 53, 'rr', [['10.244.0.3', 53, 1], ['10.244.0.2', 53, 1]]);
    const b = vs('TCP', '10.96.5.20', 80, 'rr', [['10.244.2.8', 8080, 1]]);
    const c = vs('TCP', '10.96.0.1', 443, 'rr', [['172.18.0.2', 6443, 1]]);
    c.persistentTimeout = 10800;
    expect(formatIpvsadm([a, b, c])).toBe(
      'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
      'TCP  10.96.0.1:443 rr persistent 10800\n' +
      '  -> 172.18.0.2:6443              Masq    1      0          0         \n' +
      'TCP  10.96.5.20:80 rr\n' +
      '  -> 10.244.2.8:8080              Masq    1      0          0         \n' +
      'UDP  10.96.0.10:53 rr\n' +
      '  -> 10.244.0.2:53                Masq    1      0          0         \n' +
      '  -> 10.244.0.3:53                Masq    1      0          0         \n',
    );
  });

  test('ipvsadm -Lnc lists connections and persistence templates with mm:ss left', () => {
    const s = vs('TCP', '10.96.5.20', 80, 'rr', [['10.244.2.8', 8080, 1]]);
    s.persistentTimeout = 10800;
    const ipvs = new Ipvs([s], { connCapacity: 16 });
    const r = new IpvsResult();
    ipvs.lookupOrSchedule(IPPROTO_TCP, ip('10.0.0.5'), 40000, ip('10.96.5.20'), 80, TCP_SYN, 100, r);
    const text = formatIpvsadmConns(ipvs, 100);
    expect(text.split('\n').slice(0, 2)).toEqual(['IPVS connection entries', 'pro expire state       source             virtual            destination']);
    expect(text).toContain('TCP 180:00 NONE        10.0.0.5:0         10.96.5.20:80      10.244.2.8:8080\n');
    expect(text).toContain('TCP 01:00  SYN_RECV    10.0.0.5:40000     10.96.5.20:80      10.244.2.8:8080\n');
  });
});
