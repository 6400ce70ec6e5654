/**
 * The iptables/ipset part of kube-proxy's IPVS mode that decides masquerading (proxier.go writeIptablesRules):
 *   nat KUBE-SERVICES  -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s <clusterCIDR> -j KUBE-MARK-MASQ
 *                      (--masquerade-all: without ! -s)
 *   nat KUBE-SERVICES  -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER
 *   nat KUBE-LOAD-BALANCER  -m set --match-set KUBE-LOAD-BALANCER-LOCAL dst,dst -j RETURN ; -j KUBE-MARK-MASQ
 *   nat KUBE-SERVICES  -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
 *   nat KUBE-NODE-PORT -p tcp -m set --match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN
 *                      -p tcp -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ   (udp likewise)
 *   nat KUBE-POSTROUTING -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE   (hairpin)
 *   then the same KUBE-POSTROUTING mark RETURN / xor-mark / MASQUERADE as iptables mode.
 * The sets are held as data; decisions run on the first packet of a flow (the nat table).
 */
import type { IpvsService } from './real-server.js';

export interface IpvsIpsets {
  /** "ip,proto:port" members, named as `ipset list` prints them. */
  'KUBE-CLUSTER-IP': string[];
  'KUBE-LOAD-BALANCER': string[];
  'KUBE-LOAD-BALANCER-LOCAL': string[];
  'KUBE-NODE-PORT-TCP': number[];
  'KUBE-NODE-PORT-LOCAL-TCP': number[];
  'KUBE-NODE-PORT-UDP': number[];
  'KUBE-NODE-PORT-LOCAL-UDP': number[];
  /** "epIP,proto:port,epIP" */
  'KUBE-LOOP-BACK': string[];
}

export function ipvsIpsets(services: readonly IpvsService[]): IpvsIpsets {
  const sets: IpvsIpsets = {
    'KUBE-CLUSTER-IP': [], 'KUBE-LOAD-BALANCER': [], 'KUBE-LOAD-BALANCER-LOCAL': [],
    'KUBE-NODE-PORT-TCP': [], 'KUBE-NODE-PORT-LOCAL-TCP': [], 'KUBE-NODE-PORT-UDP': [], 'KUBE-NODE-PORT-LOCAL-UDP': [],
    'KUBE-LOOP-BACK': [],
  };
  const add = <T>(arr: T[], v: T) => void (arr.includes(v) || arr.push(v));
  for (const s of services) {
    const proto = s.protocol.toLowerCase();
    const entry = `${s.vip},${proto}:${s.port}`;
    if (s.kind === 'ClusterIP') add(sets['KUBE-CLUSTER-IP'], entry);
    if (s.kind === 'LoadBalancer') {
      add(sets['KUBE-LOAD-BALANCER'], entry);
      if (s.local) add(sets['KUBE-LOAD-BALANCER-LOCAL'], entry);
    }
    if (s.kind === 'NodePort') {
      add(s.protocol === 'TCP' ? sets['KUBE-NODE-PORT-TCP'] : sets['KUBE-NODE-PORT-UDP'], s.port);
      if (s.local) add(s.protocol === 'TCP' ? sets['KUBE-NODE-PORT-LOCAL-TCP'] : sets['KUBE-NODE-PORT-LOCAL-UDP'], s.port);
    }
    for (const d of s.dests) add(sets['KUBE-LOOP-BACK'], `${d.ip},${proto}:${d.port},${d.ip}`);
  }
  return sets;
}

export interface MasqueradeConfig {
  /** --cluster-cidr as (addr32, prefix); null = no local detector (then kube-proxy masquerades by VIP source). */
  clusterCidr: { addr32: number; prefix: number } | null;
  masqueradeAll: boolean;
}

/**
 * Precomputed membership for the masquerade decision: service.kind per (proto, vip, port) comes from
 * Ipvs.findService, the rest from small lookup arrays here.
 */
export class IpvsMasquerade {
  private readonly nodePort = new Uint8Array(65536 * 2); // [udp?65536:0 + port]: 1 member, 2 member of LOCAL too
  private readonly loopback = new Set<number>(); // (ip32 * 65536 + port) * 2 + udp: exact below 2^53, no string building
  constructor(private readonly services: readonly IpvsService[], private readonly cfg: MasqueradeConfig) {
    for (const s of services) {
      if (s.kind === 'NodePort') this.nodePort[(s.protocol === 'UDP' ? 65536 : 0) + s.port] = s.local ? 2 : 1;
      for (const d of s.dests) this.loopback.add(((d.ip32 >>> 0) * 65536 + d.port) * 2 + (s.protocol === 'UDP' ? 1 : 0));
    }
  }

  private inClusterCidr(src: number): boolean {
    const c = this.cfg.clusterCidr;
    if (!c) return false;
    const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
    return ((src & mask) >>> 0) === ((c.addr32 & mask) >>> 0);
  }

  /**
   * KUBE-MARK-MASQ decision in nat KUBE-SERVICES for a new flow. svcIndex is Ipvs.findService(...) of the
   * packet's (proto, dst, dport) (-1 if none); dstIsLocal = addrtype LOCAL (node addresses and kube-ipvs0 VIPs).
   */
  marksMasq(svcIndex: number, protocol: 'TCP' | 'UDP', src: number, dport: number, dstIsLocal: boolean): boolean {
    const s = svcIndex >= 0 ? this.services[svcIndex] : undefined;
    if (s?.kind === 'ClusterIP') {
      if (this.cfg.masqueradeAll) return true;
      if (this.cfg.clusterCidr) return !this.inClusterCidr(src);
      return src >>> 0 === s.vip32; // "src,dst" variant: node-originated traffic from a VIP
    }
    if (s?.kind === 'LoadBalancer') return !s.local;
    if (dstIsLocal) {
      const m = this.nodePort[(protocol === 'UDP' ? 65536 : 0) + dport];
      return m === 1;
    }
    return false;
  }

  /** KUBE-LOOP-BACK dst,dst,src: a pod reaching itself through a service (after DNAT: src == dst == endpoint). */
  hairpin(protocol: 'TCP' | 'UDP', src: number, dst: number, dport: number): boolean {
    return src >>> 0 === dst >>> 0 && this.loopback.has(((dst >>> 0) * 65536 + dport) * 2 + (protocol === 'UDP' ? 1 : 0));
  }
}
