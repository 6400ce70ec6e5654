/**
 * Cilium's NodePort load balancing for traffic from outside the node (bpf_host nodeport_lb4 and
 * rev_nodeport_lb4, non-DSR: SNAT mode, Cilium's default), over one node's EbpfNodeState maps.
 *
 * Forward (client -> <node address>:<nodePort>):
 *  1. lb4_services lookup (address, port, proto); a miss is not a NodePort: the packet passes.
 *  2. lb4_local: the service CT entry (tuple flags TUPLE_F_SERVICE, backend_id kept in the rx_bytes union as
 *     Cilium does) pins an existing connection to its backend; a new one gets a backend from
 *     EbpfNodeState.selectBackend (affinity, random slot or Maglev; externalTrafficPolicy Local: local
 *     backends only). No backend: SERVICE_BACKEND_NOT_FOUND.
 *  3. DNAT to the backend and a `OUT client -> backend` CT entry with the NodePort flag, RevNAT, source
 *     identity world (2) and the NIC's ifindex.
 *  4. A remote backend (ipcache tunnel endpoint != 0) also gets SNAT: the source becomes the node's router
 *     address in tunnel mode (Cilium's IPV4_GATEWAY, cilium_host; dpemu's VTEP address) or its NIC address
 *     in native routing (IPV4_DIRECT_ROUTING), with a port from snat_v4_new_mapping's rules: keep the
 *     client's port when it is in 32768-65535, else a random one, then +1 per collision (128 retries).
 * Reverse (backend -> <SNAT address>:<NAT port>): the snat ingress entry gives the client back, the CT
 * entry's RevNAT the frontend: both translations are undone.
 *
 * All scratch is preallocated; no allocation per packet.
 */
import type { BpfMap } from '../maps/map-common.js';
import {
  CT_F_NODE_PORT, CT_F_SEEN_NON_SYN, ctEntryV1, ipcacheKeyV1, ipv4CtTupleV1, lb4RevNatKeyV1, lb4ReverseNatV1,
  remoteEndpointInfoV1, TUPLE_F_IN, TUPLE_F_OUT, TUPLE_F_SERVICE,
} from '../maps/cilium-layouts.js';
import { ReservedIdentity } from '../identity/identities.js';
import { Prng } from '../util/prng.js';
import { IPPROTO_TCP, SOCK_NEW, SOCK_NO_BACKEND, SockLbResult, type EbpfNodeState } from './state.js';
import { NODEPORT_PORT_MAX_NAT, NODEPORT_PORT_MIN_NAT, SNAT_COLLISION_RETRIES, ipv4NatEntryV1 } from './layouts.js';

/** nodeport4 outcomes. */
export const NP_PASS = 0;
/** A NodePort packet was translated (DNAT, and SNAT when `snat`). */
export const NP_XLATED = 1;
/** A reply was reverse-translated (un-SNAT, un-DNAT). */
export const NP_REVNAT = 2;
export const NP_NO_BACKEND = 3;
/** No free SNAT port after SNAT_COLLISION_RETRIES tries (Cilium: DROP_NAT_NO_MAPPING). */
export const NP_NAT_FAILED = 4;
/** The CT map refused the entry. */
export const NP_CT_FAILED = 5;

/** What lb()/revNat() decided; reused, never allocated per packet. */
export class NodePortResult {
  readonly lb = new SockLbResult();
  /** 1: the service CT entry already pinned the backend (no LB decision). */
  established = 0;
  snat = false;
  natAddr = 0;
  natPort = 0;
  /** Hosting node of a remote backend (ipcache tunnel_endpoint), 0 when local. */
  tunnel = 0;
  clientAddr = 0;
  clientPort = 0;
  frontAddr = 0;
  frontPort = 0;
  /** SNAT port collisions resolved for this mapping. */
  collisions = 0;
}

export class NodePortLb {
  /** The node's NIC address (NodePort frontends live on it). */
  readonly nodeIp: number;
  /** The SNAT address for remote backends: the router (VTEP) address in tunnel mode, else the NIC address. */
  readonly snatIp: number;
  private readonly rng: Prng;
  private readonly k = new Uint8Array(ipv4CtTupleV1.size);
  private readonly kr = new Uint8Array(ipv4CtTupleV1.size);
  private readonly v = new Uint8Array(ipv4NatEntryV1.size);
  private readonly vCt = new Uint8Array(ctEntryV1.size);
  private readonly kIp = new Uint8Array(ipcacheKeyV1.size);
  private readonly kRev = new Uint8Array(lb4RevNatKeyV1.size);

  constructor(readonly st: EbpfNodeState) {
    const node = st.node;
    this.nodeIp = node.ip32 >>> 0;
    this.snatIp = st.cluster.tunnel.mode === 'vxlan' ? node.vtepIp32 >>> 0 : this.nodeIp;
    // Own stream: NAT port picks must not shift the LB's backend choices.
    this.rng = new Prng((st.cluster.seed * 374761393 + node.index * 668265263 + 0x4e50) >>> 0);
  }

  /** The packet is addressed to this node (NIC or router address): the only packets nodeport4 looks up. */
  isLocal(addr: number): boolean {
    return addr === this.nodeIp || addr === this.snatIp;
  }

  /** A reply to a SNAT mapping can only be addressed to a port in Cilium's NAT range. */
  static inNatRange(port: number): boolean {
    return port >= NODEPORT_PORT_MIN_NAT;
  }

  /**
   * nodeport_lb4 for a client packet to (daddr, dport). On NP_XLATED `out` holds the backend, and the SNAT
   * address/port when `out.snat`; the caller rewrites the packet. `ifindex` is the receiving device's.
   */
  lb(proto: number, saddr: number, sport: number, daddr: number, dport: number, tcpFlags: number, bytes: number, nowSec: number, ifindex: number, out: NodePortResult): number {
    const st = this.st;
    const svcOff = st.lookupFrontend(daddr, dport, proto);
    if (svcOff < 0) return NP_PASS;
    const r = out.lb;
    out.established = 0;
    out.snat = false;
    out.tunnel = 0;
    out.collisions = 0;
    out.clientAddr = saddr;
    out.clientPort = sport;
    out.frontAddr = daddr;
    out.frontPort = dport;
    // lb4_local: the service entry keeps a connection on its backend.
    const map = st.ctMap(proto);
    const k = this.k;
    k.fill(0);
    ipv4CtTupleV1.set.daddr(k, 0, daddr); ipv4CtTupleV1.set.dport(k, 0, dport);
    ipv4CtTupleV1.set.saddr(k, 0, saddr); ipv4CtTupleV1.set.sport(k, 0, sport);
    ipv4CtTupleV1.set.nexthdr(k, 0, proto);
    ipv4CtTupleV1.set.flags(k, 0, TUPLE_F_SERVICE);
    let so = map.lookup(k);
    if (so >= 0 && st.backendById(ctEntryV1.get.rx_bytes(map.bytes, so), r)) {
      r.revNat = ctEntryV1.get.rev_nat_index(map.bytes, so);
      r.via = 0;
      out.established = 1;
    } else {
      const d = st.selectBackend(saddr, sport, daddr, dport, proto, nowSec, true, r);
      if (d === SOCK_NO_BACKEND) return NP_NO_BACKEND;
      if (d !== SOCK_NEW) return NP_PASS;
      this.vCt.fill(0);
      ctEntryV1.set.rx_bytes(this.vCt, 0, r.backendId); // union backend_id (CT_SERVICE entries)
      ctEntryV1.set.rev_nat_index(this.vCt, 0, r.revNat);
      if (map.update(k, this.vCt) !== 0) return NP_CT_FAILED;
      so = map.lookup(k);
    }
    this.touch(map, so, proto, tcpFlags, bytes, nowSec, false);
    // The connection's own entry (ct_create4 CT_EGRESS after the DNAT), as `cilium bpf ct list` shows it.
    if (st.ctRecord('out', proto, saddr, sport, r.backendAddr, r.backendPort, false, nowSec, {
      bytes, tcpFlags, revNat: r.revNat, srcSecId: ReservedIdentity.WORLD, ifindex, ctFlags: CT_F_NODE_PORT,
    }) < 0) return NP_CT_FAILED;
    out.tunnel = this.tunnelEndpoint(r.backendAddr);
    if (out.tunnel === 0) return NP_XLATED; // local backend: delivered with the client's address, no SNAT
    return this.snatMapping(proto, saddr, sport, r.backendAddr, r.backendPort, nowSec, out) ? NP_XLATED : NP_NAT_FAILED;
  }

  /**
   * rev_nodeport_lb4 for a packet to (daddr, dport) on this node: a reply to a SNAT mapping gets its
   * client back (out.clientAddr/Port) and, through the CT entry's RevNAT, the frontend as its source
   * (out.frontAddr/Port). NP_PASS when there is no mapping.
   */
  revNat(proto: number, saddr: number, sport: number, daddr: number, dport: number, tcpFlags: number, bytes: number, nowSec: number, out: NodePortResult): number {
    const st = this.st;
    const kr = this.kr;
    kr.fill(0);
    ipv4CtTupleV1.set.saddr(kr, 0, saddr); ipv4CtTupleV1.set.sport(kr, 0, sport);
    ipv4CtTupleV1.set.daddr(kr, 0, daddr); ipv4CtTupleV1.set.dport(kr, 0, dport);
    ipv4CtTupleV1.set.nexthdr(kr, 0, proto);
    ipv4CtTupleV1.set.flags(kr, 0, TUPLE_F_IN);
    const no = st.snat.lookup(kr);
    if (no < 0) return NP_PASS;
    out.clientAddr = ipv4NatEntryV1.get.addr(st.snat.bytes, no);
    out.clientPort = ipv4NatEntryV1.get.port(st.snat.bytes, no);
    out.natAddr = daddr;
    out.natPort = dport;
    out.frontAddr = 0;
    out.frontPort = 0;
    out.lb.revNat = 0;
    // The connection's CT entry, looked up as a reply (ct_lookup4 CT_INGRESS): no entry, no RevNAT.
    const map = st.ctMap(proto);
    const k = this.k;
    k.fill(0);
    ipv4CtTupleV1.set.daddr(k, 0, out.clientAddr); ipv4CtTupleV1.set.dport(k, 0, out.clientPort);
    ipv4CtTupleV1.set.saddr(k, 0, saddr); ipv4CtTupleV1.set.sport(k, 0, sport);
    ipv4CtTupleV1.set.nexthdr(k, 0, proto);
    ipv4CtTupleV1.set.flags(k, 0, TUPLE_F_OUT);
    const co = map.lookup(k);
    if (co >= 0) {
      this.touch(map, co, proto, tcpFlags, bytes, nowSec, true);
      const rev = ctEntryV1.get.rev_nat_index(map.bytes, co);
      lb4RevNatKeyV1.set.rev_nat_index(this.kRev, 0, rev);
      const ro = st.revNat.lookup(this.kRev);
      if (ro >= 0) {
        out.lb.revNat = rev;
        out.frontAddr = lb4ReverseNatV1.get.address(st.revNat.bytes, ro);
        out.frontPort = lb4ReverseNatV1.get.port(st.revNat.bytes, ro);
      }
    }
    return NP_REVNAT;
  }

  /** ipcache tunnel endpoint of an address (0: local or not behind a tunnel). */
  tunnelEndpoint(addr: number): number {
    ipcacheKeyV1.set.prefixlen(this.kIp, 0, 32);
    ipcacheKeyV1.set.addr(this.kIp, 0, addr);
    const o = this.st.ipcache.lookup(this.kIp);
    return o < 0 ? 0 : remoteEndpointInfoV1.get.tunnel_endpoint(this.st.ipcache.bytes, o);
  }

  /** snat_v4_nat: reuse the connection's egress mapping, or create both entries (snat_v4_new_mapping). */
  private snatMapping(proto: number, client: number, cport: number, backend: number, bport: number, nowSec: number, out: NodePortResult): boolean {
    const snat: BpfMap = this.st.snat;
    const k = this.k;
    k.fill(0);
    ipv4CtTupleV1.set.saddr(k, 0, client); ipv4CtTupleV1.set.sport(k, 0, cport);
    ipv4CtTupleV1.set.daddr(k, 0, backend); ipv4CtTupleV1.set.dport(k, 0, bport);
    ipv4CtTupleV1.set.nexthdr(k, 0, proto);
    ipv4CtTupleV1.set.flags(k, 0, TUPLE_F_OUT);
    out.snat = true;
    const fo = snat.lookup(k);
    if (fo >= 0) {
      out.natAddr = ipv4NatEntryV1.get.addr(snat.bytes, fo);
      out.natPort = ipv4NatEntryV1.get.port(snat.bytes, fo);
      return true;
    }
    const kr = this.kr;
    kr.fill(0);
    ipv4CtTupleV1.set.saddr(kr, 0, backend); ipv4CtTupleV1.set.sport(kr, 0, bport);
    ipv4CtTupleV1.set.daddr(kr, 0, this.snatIp);
    ipv4CtTupleV1.set.nexthdr(kr, 0, proto);
    ipv4CtTupleV1.set.flags(kr, 0, TUPLE_F_IN);
    // __snat_try_keep_port, then __snat_clamp_port_range(random) and +1 per collision.
    let port = cport >= NODEPORT_PORT_MIN_NAT && cport <= NODEPORT_PORT_MAX_NAT ? cport : this.clamp(this.rng.nextU32() & 0xffff);
    const now = Math.floor(nowSec);
    for (let retries = 0; retries < SNAT_COLLISION_RETRIES; retries++) {
      ipv4CtTupleV1.set.dport(kr, 0, port);
      if (snat.lookup(kr) < 0) {
        this.v.fill(0);
        ipv4NatEntryV1.set.created(this.v, 0, now);
        ipv4NatEntryV1.set.addr(this.v, 0, client);
        ipv4NatEntryV1.set.port(this.v, 0, cport);
        if (snat.update(kr, this.v) !== 0) return false;
        ipv4NatEntryV1.set.addr(this.v, 0, this.snatIp);
        ipv4NatEntryV1.set.port(this.v, 0, port);
        if (snat.update(k, this.v) !== 0) return false;
        out.natAddr = this.snatIp;
        out.natPort = port;
        return true;
      }
      out.collisions++;
      port = this.clamp(retries ? port + 1 : this.rng.nextU32() & 0xffff);
    }
    return false;
  }

  private clamp(v: number): number {
    return NODEPORT_PORT_MIN_NAT + (v % (NODEPORT_PORT_MAX_NAT - NODEPORT_PORT_MIN_NAT + 1));
  }

  /** Counters, flags and lifetime of an existing CT entry (ct_update_timeout with the configured lifetimes). */
  private touch(map: BpfMap, off: number, proto: number, tcpFlags: number, bytes: number, nowSec: number, rx: boolean): void {
    const b = map.bytes;
    const now = Math.floor(nowSec);
    if (rx) {
      ctEntryV1.set.rx_packets(b, off, ctEntryV1.get.rx_packets(b, off) + 1);
      if (ctEntryV1.get.flags(b, off) & CT_F_NODE_PORT) ctEntryV1.set.rx_bytes(b, off, ctEntryV1.get.rx_bytes(b, off) + bytes);
      ctEntryV1.set.rx_flags_seen(b, off, ctEntryV1.get.rx_flags_seen(b, off) | tcpFlags);
      ctEntryV1.set.last_rx_report(b, off, now);
    } else {
      ctEntryV1.set.tx_packets(b, off, ctEntryV1.get.tx_packets(b, off) + 1);
      ctEntryV1.set.tx_bytes(b, off, ctEntryV1.get.tx_bytes(b, off) + bytes);
      ctEntryV1.set.tx_flags_seen(b, off, ctEntryV1.get.tx_flags_seen(b, off) | tcpFlags);
      ctEntryV1.set.last_tx_report(b, off, now);
    }
    let flags = ctEntryV1.get.flags(b, off);
    const tcp = proto === IPPROTO_TCP;
    if (tcp && !((tcpFlags & 0x02) !== 0 && (tcpFlags & 0x10) === 0)) flags |= CT_F_SEEN_NON_SYN;
    ctEntryV1.set.flags(b, off, flags);
    ctEntryV1.set.lifetime(b, off, now + this.st.ctLifetime(proto, flags, tcp && (tcpFlags & 0x05) !== 0));
  }
}
