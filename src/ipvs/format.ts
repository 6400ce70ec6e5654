/**
 * `ipvsadm -Ln` and `ipvsadm -Lnc` text, from ipvsadm 1.31's list_all / print_service_entry / list_conn:
 * services sorted by ipvs_cmp_services (af, protocol, address, port: C int subtraction), dests by
 * ipvs_cmp_dests (address, port).
 */
import { formatIpv4 } from '../scenario/ipv4.js';
import { CONN_STATE_NAMES, F_TEMPLATE } from './conn-table.js';
import type { Ipvs } from './ipvs.js';
import { IPPROTO_TCP } from './ipvs.js';
import type { IpvsService, RealServer } from './real-server.js';

/** IP_VS_VERSION_CODE 0x010201 of every kernel since 2.6. */
export const IPVS_VERSION = '1.2.1';

const cmpU32 = (a: number, b: number): number => ((a >>> 0) - (b >>> 0)) | 0; // ntohl(a) - ntohl(b) stored in an int
const protoNum = (p: 'TCP' | 'UDP'): number => (p === 'TCP' ? 6 : 17);

export function cmpServices(a: IpvsService, b: IpvsService): number {
  return protoNum(a.protocol) - protoNum(b.protocol) || cmpU32(a.vip32, b.vip32) || a.port - b.port;
}
export function cmpDests(a: RealServer, b: RealServer): number {
  return cmpU32(a.ip32, b.ip32) || a.port - b.port;
}

/** IP_VS_SVC_F_SCHED1/2 as ipvsadm names them: sh-/mh- fallback and port, flag-N for other schedulers. */
export function schedFlagNames(s: IpvsService): string[] {
  const prefix = s.scheduler === 'sh' || s.scheduler === 'mh' ? s.scheduler : null;
  const out: string[] = [];
  if (s.schedFallback) out.push(prefix ? `${prefix}-fallback` : 'flag-1');
  if (s.schedPort) out.push(prefix ? `${prefix}-port` : 'flag-2');
  return out;
}

const padEnd = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export function formatIpvsadm(services: readonly IpvsService[], opts: { size?: number } = {}): string {
  let out = `IP Virtual Server version ${IPVS_VERSION} (size=${opts.size ?? 4096})\n`;
  out += 'Prot LocalAddress:Port Scheduler Flags\n';
  out += '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  for (const s of [...services].sort(cmpServices)) {
    const name = `${padEnd(s.protocol, 4)} ${s.vip}:${s.port}`.slice(0, 33); // "%-4s %s", cut at 33
    out += `${name} ${s.scheduler}`;
    const flags = schedFlagNames(s);
    if (flags.length > 0) out += ` (${flags.join(',')})`;
    if (s.persistentTimeout > 0) {
      out += ` persistent ${s.persistentTimeout}`;
      if (s.netmask32 >>> 0 !== 0xffffffff) out += ` mask ${formatIpv4(s.netmask32 >>> 0)}`;
    }
    out += '\n';
    for (const d of [...s.dests].sort(cmpDests)) {
      const dname = `${d.ip}:${d.port}`.slice(0, 28);
      out += `  -> ${padEnd(dname, 28)} ${padEnd(d.forward, 7)} ${padEnd(String(d.weight), 6)} ${padEnd(String(d.activeConns), 10)} ${padEnd(String(d.inactConns), 10)}\n`;
    }
  }
  return out;
}

/** `ipvsadm -Lnc`: /proc/net/ip_vs_conn order (hash bucket walk), here slot order; expire is mm:ss of time left. */
export function formatIpvsadmConns(ipvs: Ipvs, now: number): string {
  const t = ipvs.conns;
  let out = 'IPVS connection entries\n';
  out += `pro expire ${padEnd('state', 11)} ${padEnd('source', 18)} ${padEnd('virtual', 18)} destination\n`;
  for (let i = 0; i < t.capacity; i++) {
    if (!t.isUsed(i) || t.expires[i] <= now) continue;
    const left = Math.max(0, Math.floor(t.expires[i] - now));
    const exp = `${String(Math.floor(left / 60)).padStart(2, '0')}:${String(left % 60).padStart(2, '0')}`;
    const proto = t.proto[i] === IPPROTO_TCP ? 'TCP' : 'UDP';
    const state = t.flags[i] & F_TEMPLATE ? 'NONE' : CONN_STATE_NAMES[t.state[i]];
    const c = `${formatIpv4(t.caddr[i])}:${t.cport[i]}`;
    const v = `${formatIpv4(t.vaddr[i])}:${t.vport[i]}`;
    const d = `${formatIpv4(t.daddr[i])}:${t.dport[i]}`;
    out += `${padEnd(proto, 3)} ${padEnd(exp, 6)} ${padEnd(state, 11)} ${padEnd(c, 18)} ${padEnd(v, 18)} ${d}\n`;
  }
  return out;
}
