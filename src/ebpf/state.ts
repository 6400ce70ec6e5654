/**
 * One node's eBPF state in kube-proxy-replacement mode (`kubeProxy.mode: ebpf`): the maps the Cilium agent
 * would program from the cluster, plus the socket-LB logic of bpf_sock.c (cgroup/connect4, sendmsg4,
 * recvmsg4) that reads them.
 *
 *  - lb4_services_v1: per frontend (address, port, proto) slot 0 = {count, rev_nat_index, flags} and slots
 *    1..count = {backend_id, rev_nat_index}, Cilium's layout. Frontends: the ClusterIP, each LoadBalancer IP,
 *    and the NodePort on this node's own address (bpf_sock only translates NodePorts on local addresses for
 *    pods). With sessionAffinity ClientIP, slot 0's backend_id holds the affinity timeout (Cilium's union).
 *  - lb4_backends_v1: backend id -> {address, port, proto}; lb4_reverse_nat_v1: rev_nat_index -> frontend.
 *  - ipcache_v1: pod /32 -> pod identity (+ tunnel endpoint = hosting node when remote), node addresses ->
 *    host (1) / remote-node (6), 0.0.0.0/0 -> world (2).
 *  - ct4_global_v1: filled by whoever runs bpf_lxc's conntrack (ctRecord); the socket LB itself creates no
 *    conntrack entry for its translation, as in Cilium.
 *  - lb4_reverse_sk_v1, lb4_affinity_v1, sock4_conn_v1: see layouts.ts.
 *
 * Backend ids and rev NAT indexes are numbered from 1 in a fixed order (services by namespace/name, ports in
 * spec order, frontends ClusterIP, LB IPs, NodePort; backends by "ip:port" as kube-proxy sorts them), so every
 * node of a scenario gets the same numbers and a replay is repeatable.
 */
import type { BpfMap } from '../maps/map-common.js';
import { createMap } from '../maps/create.js';
import { LruHashMap } from '../maps/hash-map.js';
import {
  MAPS_V1, ctEntryV1, ipcacheKeyV1, ipv4CtTupleV1, lb4BackendKeyV1, lb4BackendV1, lb4KeyV1, lb4RevNatKeyV1,
  lb4ReverseNatV1, lb4ServiceV1, remoteEndpointInfoV1, CT_F_SEEN_NON_SYN, TUPLE_F_IN, TUPLE_F_OUT,
} from '../maps/cilium-layouts.js';
import { IdentityAllocator, ReservedIdentity } from '../identity/identities.js';
import { maglevConfig, maglevFlowHash4, maglevTable, type MaglevConfig } from '../lb/maglev.js';
import { categorizeEndpoints, serviceEndpoints } from '../kubeproxy/node-rules.js';
import { EBPF_DEFAULTS, type Cluster, type EbpfConfig, type NodeModel, type ServiceModel, type ServicePortModel } from '../scenario/model.js';
import { DpemuError } from '../util/errors.js';
import { Prng } from '../util/prng.js';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../dataplane/wire.js';
import {
  SVC_FLAG_AFFINITY, SVC_FLAG_EXT_LOCAL_SCOPE, SVC_FLAG_INT_LOCAL_SCOPE, SVC_FLAG_LOADBALANCER, SVC_FLAG_NODEPORT, SVC_FLAG_ROUTABLE,
  SVC_FLAG_TWO_SCOPES, ipv4NatEntryV1, lb4AffinityKeyV1, lb4ReverseSkKeyV1, lb4ReverseSkV1, lbAffinityValV1, sock4ConnKeyV1, sock4ConnV1,
} from './layouts.js';

export class EbpfStateError extends DpemuError {}

export type LbAlgorithm = 'random' | 'maglev';

export interface EbpfOptions {
  /** Backend selection for a new connection: 'random' (seeded PRNG, Cilium's bpf_sock) or 'maglev'. Default random. */
  readonly lbAlgorithm?: LbAlgorithm;
  /** Maglev M (a Cilium prime); default 16381. */
  readonly maglevTableSize?: number;
  /** Cilium's base64 --bpf-lb-maglev-hash-seed. */
  readonly maglevHashSeed?: string;
  /** Max entries of the LRU maps dpemu allocates eagerly (reverse-sk, socket, affinity); default 65536. */
  readonly sockMapEntries?: number;
  /** Max entries of ct4_global_v1 (TCP); default the cluster's `ebpf.ctGlobalTcpMax` (Cilium 524288). */
  readonly ctEntries?: number;
  /** Max entries of ct_any4_global_v1 (non-TCP); default the cluster's `ebpf.ctGlobalAnyMax` (Cilium 262144). */
  readonly ctAnyEntries?: number;
  /** Max entries of snat_v4_external_v1; default the cluster's `ebpf.natGlobalMax` (Cilium 524288). */
  readonly natEntries?: number;
}

export { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP };

/** Result codes of connect(). */
export const SOCK_NOT_SERVICE = 0;
export const SOCK_NEW = 1;
export const SOCK_CONNECTED = 2;
export const SOCK_NO_BACKEND = 3;

/** What one frontend is, for traces and dumps (not read on the packet path). */
export interface FrontendInfo {
  readonly revNat: number;
  readonly service: ServiceModel;
  readonly port: ServicePortModel;
  readonly kind: 'ClusterIP' | 'LoadBalancer' | 'NodePort';
  readonly address: number;
  readonly dport: number;
  readonly proto: number;
  /** Backend ids in slot order (slot i + 1). */
  readonly backendIds: readonly number[];
  readonly affinityTimeout: number;
}

export interface BackendInfo {
  readonly id: number;
  readonly address: number;
  readonly port: number;
  readonly proto: number;
  readonly pod: string;
}

/** Filled by connect(); reused, never allocated per packet. */
export class SockLbResult {
  backendAddr = 0;
  backendPort = 0;
  backendId = 0;
  revNat = 0;
  /** Backend slot used (0 when the choice came from affinity or Maglev without a slot). */
  slot = 0;
  /** 1 chosen by affinity, 2 by Maglev, 0 random or reused. */
  via = 0;
}

export interface CtRecordOptions {
  readonly bytes?: number;
  readonly tcpFlags?: number;
  readonly revNat?: number;
  readonly srcSecId?: number;
  readonly ifindex?: number;
  /**
   * Count the packet as rx (to the endpoint: the to-container lookup, CT_INGRESS) or tx (from it:
   * CT_EGRESS), as ct_update_stats does; default: rx for a reply.
   */
  readonly rx?: boolean;
  /** ct_entry flag bits (CT_F_*) to set on the entry, e.g. CT_F_NODE_PORT. */
  readonly ctFlags?: number;
}

/** Cilium's default CT lifetimes (bpf/lib/conntrack.h, seconds); the node uses the cluster's `ebpf` settings. */
export const CT_LIFETIME_TCP = 21600;
export const CT_LIFETIME_NONTCP = 60;
export const CT_SYN_TIMEOUT = 60;
export const CT_CLOSE_TIMEOUT = 10;

export function protoNumber(p: string): number {
  return p === 'TCP' ? IPPROTO_TCP : p === 'UDP' ? IPPROTO_UDP : IPPROTO_SCTP;
}

export function protoName(n: number): string {
  return n === IPPROTO_TCP ? 'TCP' : n === IPPROTO_UDP ? 'UDP' : n === IPPROTO_SCTP ? 'SCTP' : n === 1 ? 'ICMP' : String(n);
}

export class EbpfNodeState {
  readonly services: BpfMap;
  readonly backends: BpfMap;
  readonly revNat: BpfMap;
  readonly ipcache: BpfMap;
  /** cilium_ct4_global: TCP entries. */
  readonly ct: BpfMap;
  /** cilium_ct_any4_global: every other protocol (UDP, ICMP, SCTP), as Cilium splits them. */
  readonly ctAny: BpfMap;
  /** cilium_snat_v4_external: NodePort SNAT mappings (two entries each; see layouts.ts). */
  readonly snat: BpfMap;
  /** Lifetimes and sizes in force (the cluster's `ebpf` settings). */
  readonly config: EbpfConfig;
  /**
   * rev_nat_index -> backend ids of the external scope, for NodePort/LoadBalancer frontends of
   * externalTrafficPolicy Local services (node-local backends only); the lb4_services entry holds the
   * internal scope (every backend), which the socket LB uses.
   */
  readonly extLocal = new Map<number, Uint32Array>();
  /** rev_nat_index -> Maglev table over the external-scope (local) backends, externalTrafficPolicy Local. */
  readonly maglevExtLocal = new Map<number, Uint32Array>();
  readonly reverseSk: BpfMap;
  readonly affinity: BpfMap;
  readonly sockConn: BpfMap;
  readonly frontends: FrontendInfo[] = [];
  readonly backendList: BackendInfo[] = [];
  /**
   * Backends in a frontend's slots only as the terminating fallback (serving, not ready). Cilium's reconciler
   * writes an affinity match (lb4_affinity_match) for active backends only, so affinity never sticks to these:
   * each new connection is balanced again.
   */
  private readonly terminatingIds = new Set<number>();
  readonly algorithm: LbAlgorithm;
  readonly maglev: MaglevConfig | null;
  /** rev_nat_index -> Maglev lookup table of backend ids. */
  readonly maglevTables = new Map<number, Uint32Array>();
  readonly identities: IdentityAllocator;
  private readonly rng: Prng;
  private readonly kSvc = new Uint8Array(lb4KeyV1.size);
  private readonly kBe = new Uint8Array(lb4BackendKeyV1.size);
  private readonly kSk = new Uint8Array(lb4ReverseSkKeyV1.size);
  private readonly vSk = new Uint8Array(lb4ReverseSkV1.size);
  private readonly kAff = new Uint8Array(lb4AffinityKeyV1.size);
  private readonly vAff = new Uint8Array(lbAffinityValV1.size);
  private readonly kConn = new Uint8Array(sock4ConnKeyV1.size);
  private readonly vConn = new Uint8Array(sock4ConnV1.size);
  private readonly kCt = new Uint8Array(ipv4CtTupleV1.size);
  private readonly vCt = new Uint8Array(ctEntryV1.size);

  constructor(readonly cluster: Cluster, readonly node: NodeModel, opts: EbpfOptions = {}) {
    const sockMax = opts.sockMapEntries ?? 65536;
    this.services = createMap({ ...MAPS_V1.lb4_services_v1, maxEntries: 4096 });
    this.backends = createMap({ ...MAPS_V1.lb4_backends_v1, maxEntries: 4096 });
    this.revNat = createMap({ ...MAPS_V1.lb4_reverse_nat_v1, maxEntries: 4096 });
    this.ipcache = createMap({ ...MAPS_V1.ipcache_v1, maxEntries: Math.max(64, cluster.pods.length + cluster.nodes.length * 2 + 8) });
    this.config = { ...EBPF_DEFAULTS, ...(cluster.ebpf ?? {}) };
    this.ct = createMap({ ...MAPS_V1.ct4_global_v1, maxEntries: opts.ctEntries ?? this.config.ctGlobalTcpMax });
    this.ctAny = createMap({ ...MAPS_V1.ct4_global_v1, name: 'ct_any4_global_v1', maxEntries: opts.ctAnyEntries ?? this.config.ctGlobalAnyMax });
    this.snat = new LruHashMap({ name: 'snat_v4_external_v1', key: ipv4CtTupleV1, value: ipv4NatEntryV1, maxEntries: opts.natEntries ?? this.config.natGlobalMax });
    this.reverseSk = new LruHashMap({ name: 'lb4_reverse_sk_v1', key: lb4ReverseSkKeyV1, value: lb4ReverseSkV1, maxEntries: sockMax });
    this.affinity = new LruHashMap({ name: 'lb4_affinity_v1', key: lb4AffinityKeyV1, value: lbAffinityValV1, maxEntries: sockMax });
    this.sockConn = new LruHashMap({ name: 'sock4_conn_v1', key: sock4ConnKeyV1, value: sock4ConnV1, maxEntries: sockMax });
    this.algorithm = opts.lbAlgorithm ?? 'random';
    if (this.algorithm !== 'random' && this.algorithm !== 'maglev') {
      throw new EbpfStateError('EBPF_BAD_LB_ALGORITHM', `load-balancing algorithm '${String(this.algorithm)}' is not supported; use random or maglev`);
    }
    this.maglev = this.algorithm === 'maglev' ? maglevConfig({ tableSize: opts.maglevTableSize, hashSeed: opts.maglevHashSeed }) : null;
    // Own PRNG stream (not the node's): socket-LB picks must not shift iptables/NAT randomness.
    this.rng = new Prng((cluster.seed * 2246822519 + node.index * 3266489917 + 0x50c4) >>> 0);
    this.identities = new IdentityAllocator(cluster);
    this.populateLb();
    this.populateIpcache();
  }

  private populateLb(): void {
    const c = this.cluster;
    const backendIds = new Map<string, number>();
    const services = [...c.services].sort((a, b) => (a.namespace + '/' + a.name < b.namespace + '/' + b.name ? -1 : 1));
    let revNat = 0;
    for (const svc of services) {
      if (svc.clusterIp32 === null) continue; // headless: no frontend
      for (const port of svc.ports) {
        const proto = protoNumber(port.protocol);
        // Ready backends; with none ready, the serving terminating ones (per scope), as Cilium's BPF
        // reconciler sets the service count to the terminating backends when no active one is left (KEP-1669).
        const { clusterEndpoints, localEndpoints } = categorizeEndpoints(serviceEndpoints(c, svc, port, this.node.name), true, true);
        const ids: number[] = [];
        const localIds: number[] = [];
        const cluster = new Set(clusterEndpoints);
        const local = new Set(localEndpoints);
        for (const e of new Set([...clusterEndpoints, ...localEndpoints])) {
          const k = `${e.text}/${port.protocol}`;
          let id = backendIds.get(k);
          if (id === undefined) {
            id = backendIds.size + 1;
            backendIds.set(k, id);
            const pod = c.pods.find((p) => p.ip32 >>> 0 === e.ip32 >>> 0);
            this.backendList.push({ id, address: e.ip32 >>> 0, port: e.port, proto, pod: pod ? `${pod.namespace}/${pod.name}` : '' });
            this.backends.update(lb4BackendKeyV1.encode({ backend_id: id }), lb4BackendV1.encode({ address: e.ip32 >>> 0, port: e.port, proto }));
            if (!e.ready) this.terminatingIds.add(id);
          }
          if (cluster.has(e)) ids.push(id);
          if (local.has(e)) localIds.push(id);
        }
        const affinity = svc.sessionAffinity === 'ClientIP' ? svc.sessionAffinityTimeoutSeconds : 0;
        const frontends: Array<[FrontendInfo['kind'], number, number]> = [[ 'ClusterIP', svc.clusterIp32 >>> 0, port.port ]];
        if (svc.type === 'LoadBalancer') for (const ip of svc.loadBalancerIps) frontends.push(['LoadBalancer', ipToU32(ip), port.port]);
        if ((svc.type === 'NodePort' || svc.type === 'LoadBalancer') && port.nodePort > 0) frontends.push(['NodePort', this.node.ip32 >>> 0, port.nodePort]);
        for (const [kind, address, dport] of frontends) {
          revNat++;
          // In-cluster clients use the internal scope: internalTrafficPolicy Local keeps node-local backends only
          // for the ClusterIP. externalTrafficPolicy does not apply to a pod's socket (Cilium's two scopes).
          const intLocal = kind === 'ClusterIP' && svc.internalTrafficPolicy === 'Local';
          const slots = intLocal ? localIds : ids;
          // externalTrafficPolicy Local: traffic from outside the node (nodeport4) may only reach local backends.
          const extLocal = kind !== 'ClusterIP' && svc.externalTrafficPolicy === 'Local';
          let flags = affinity ? SVC_FLAG_AFFINITY : 0;
          if (extLocal) flags |= SVC_FLAG_EXT_LOCAL_SCOPE;
          if (kind === 'NodePort') flags |= SVC_FLAG_NODEPORT | SVC_FLAG_ROUTABLE;
          if (kind === 'LoadBalancer') flags |= SVC_FLAG_LOADBALANCER | SVC_FLAG_ROUTABLE;
          const key = { address, dport, proto, backend_slot: 0 };
          this.services.update(lb4KeyV1.encode(key), lb4ServiceV1.encode({
            backend_id: affinity, count: slots.length, rev_nat_index: revNat, flags, flags2: (intLocal ? SVC_FLAG_INT_LOCAL_SCOPE : 0) | (extLocal ? SVC_FLAG_TWO_SCOPES : 0),
          }));
          slots.forEach((id, i) => {
            this.services.update(lb4KeyV1.encode({ ...key, backend_slot: i + 1 }), lb4ServiceV1.encode({ backend_id: id, rev_nat_index: revNat }));
          });
          this.revNat.update(lb4RevNatKeyV1.encode({ rev_nat_index: revNat }), lb4ReverseNatV1.encode({ address, port: dport }));
          this.frontends.push({ revNat, service: svc, port, kind, address, dport, proto, backendIds: slots, affinityTimeout: affinity });
          if (extLocal) this.extLocal.set(revNat, Uint32Array.from(localIds));
          if (this.maglev && extLocal) {
            this.maglevExtLocal.set(revNat, maglevTable(localIds.map((id) => {
              const b = this.backendList[id - 1];
              return { id, address: ipText(b.address), port: b.port, protocol: port.protocol };
            }), this.maglev));
          }
          if (this.maglev) {
            this.maglevTables.set(revNat, maglevTable(slots.map((id) => {
              const b = this.backendList[id - 1];
              return { id, address: ipText(b.address), port: b.port, protocol: port.protocol };
            }), this.maglev));
          }
        }
      }
    }
  }

  private populateIpcache(): void {
    const c = this.cluster;
    const put = (addr: number, prefix: number, identity: number, tunnel: number): void => {
      this.ipcache.update(ipcacheKeyV1.encode({ prefixlen: prefix, addr }), remoteEndpointInfoV1.encode({ sec_identity: identity, tunnel_endpoint: tunnel }));
    };
    put(0, 0, ReservedIdentity.WORLD, 0);
    const vxlan = c.tunnel.mode === 'vxlan';
    for (const n of c.nodes) {
      const self = n.name === this.node.name;
      put(n.ip32 >>> 0, 32, self ? ReservedIdentity.HOST : ReservedIdentity.REMOTE_NODE, 0);
      // The node's router address on the overlay (Cilium's cilium_host; here the VTEP address).
      if (vxlan) put(n.vtepIp32 >>> 0, 32, self ? ReservedIdentity.HOST : ReservedIdentity.REMOTE_NODE, self ? 0 : n.ip32 >>> 0);
    }
    for (const p of c.pods) {
      const host = c.nodes.find((n) => n.name === p.nodeName);
      const remote = host !== undefined && host.name !== this.node.name;
      put(p.ip32 >>> 0, 32, this.identities.forPod(p), remote ? host.ip32 >>> 0 : 0);
    }
  }

  /** Offset of a frontend's slot 0 value in services.bytes, or -1. */
  lookupFrontend(addr: number, dport: number, proto: number): number {
    const k = this.kSvc;
    k.fill(0);
    lb4KeyV1.set.address(k, 0, addr);
    lb4KeyV1.set.dport(k, 0, dport);
    lb4KeyV1.set.proto(k, 0, proto);
    return this.services.lookup(k);
  }

  /**
   * cgroup/connect4 + sendmsg4 for one packet a pod sends to (vip, vport): a connected socket keeps its
   * backend (no LB decision); else a frontend gets a backend (affinity, then random slot or Maglev), and the
   * reverse-sk and socket entries are written. `out` says what was chosen. No allocation.
   */
  connect(saddr: number, sport: number, vip: number, vport: number, proto: number, nowSec: number, out: SockLbResult): number {
    const kc = this.kConn;
    kc.fill(0);
    sock4ConnKeyV1.set.client_addr(kc, 0, saddr);
    sock4ConnKeyV1.set.vip(kc, 0, vip);
    sock4ConnKeyV1.set.client_port(kc, 0, sport);
    sock4ConnKeyV1.set.vport(kc, 0, vport);
    sock4ConnKeyV1.set.proto(kc, 0, proto);
    const hit = this.sockConn.lookup(kc);
    if (hit >= 0) {
      const b = this.sockConn.bytes;
      out.backendAddr = sock4ConnV1.get.backend_addr(b, hit);
      out.backendPort = sock4ConnV1.get.backend_port(b, hit);
      out.backendId = sock4ConnV1.get.backend_id(b, hit);
      out.revNat = sock4ConnV1.get.rev_nat_index(b, hit);
      out.slot = sock4ConnV1.get.slot(b, hit);
      out.via = 0;
      return SOCK_CONNECTED;
    }
    const r = this.selectBackend(saddr, sport, vip, vport, proto, nowSec, false, out);
    if (r !== SOCK_NEW) return r;
    // The socket is now connected to the backend: remember it, and the reverse translation for replies.
    this.vConn.fill(0);
    sock4ConnV1.set.backend_addr(this.vConn, 0, out.backendAddr);
    sock4ConnV1.set.backend_port(this.vConn, 0, out.backendPort);
    sock4ConnV1.set.backend_id(this.vConn, 0, out.backendId);
    sock4ConnV1.set.rev_nat_index(this.vConn, 0, out.revNat);
    sock4ConnV1.set.slot(this.vConn, 0, out.slot);
    this.sockConn.update(kc, this.vConn);
    this.setSkKey(saddr, sport, out.backendAddr, out.backendPort, proto);
    lb4ReverseSkV1.set.address(this.vSk, 0, vip);
    lb4ReverseSkV1.set.port(this.vSk, 0, vport);
    lb4ReverseSkV1.set.rev_nat_index(this.vSk, 0, out.revNat);
    this.reverseSk.update(this.kSk, this.vSk);
    return SOCK_NEW;
  }

  /**
   * The LB decision for a new connection to frontend (vip, vport, proto), shared by the socket LB and
   * nodeport4 (lb4_local): session affinity, then a random slot (seeded PRNG) or Maglev. `external`: the
   * packet comes from outside the node, so an externalTrafficPolicy Local frontend offers only its local
   * backends (the external scope). Returns SOCK_NEW, SOCK_NO_BACKEND or SOCK_NOT_SERVICE; fills `out`.
   */
  selectBackend(saddr: number, sport: number, vip: number, vport: number, proto: number, nowSec: number, external: boolean, out: SockLbResult): number {
    const svcOff = this.lookupFrontend(vip, vport, proto);
    if (svcOff < 0) return SOCK_NOT_SERVICE;
    const sb = this.services.bytes;
    const revNat = lb4ServiceV1.get.rev_nat_index(sb, svcOff);
    const flags = lb4ServiceV1.get.flags(sb, svcOff);
    const affTimeout = lb4ServiceV1.get.backend_id(sb, svcOff);
    const local = external && (flags & SVC_FLAG_EXT_LOCAL_SCOPE) !== 0 ? this.extLocal.get(revNat) ?? null : null;
    const count = local ? local.length : lb4ServiceV1.get.count(sb, svcOff);
    out.revNat = revNat;
    out.slot = 0;
    out.via = 0;
    out.backendId = 0;
    if (count === 0) return SOCK_NO_BACKEND;
    const nowMs = Math.floor(nowSec * 1000);
    let backendId = 0;
    if (flags & SVC_FLAG_AFFINITY) {
      const ka = this.kAff;
      ka.fill(0);
      lb4AffinityKeyV1.set.client_addr(ka, 0, saddr);
      lb4AffinityKeyV1.set.rev_nat_id(ka, 0, revNat);
      const a = this.affinity.lookup(ka);
      if (a >= 0) {
        const ab = this.affinity.bytes;
        const last = lbAffinityValV1.get.last_used(ab, a);
        const id = lbAffinityValV1.get.backend_id(ab, a);
        // lb4_affinity_backend_id: expired when last_used + timeout <= now; the backend must still have an affinity
        // match: serve the service, and be active (not a terminating fallback).
        if (last + affTimeout * 1000 > nowMs && !this.terminatingIds.has(id) && (local ? local.includes(id) : this.slotOf(vip, vport, proto, count, id) > 0)) {
          backendId = id;
          out.via = 1;
        } else {
          this.affinity.delete(ka);
        }
      }
    }
    if (backendId === 0) {
      if (this.maglev) {
        const t = local ? this.maglevExtLocal.get(revNat) : this.maglevTables.get(revNat);
        if (t && t.length) {
          backendId = t[maglevFlowHash4(saddr, sport, vport, proto, this.maglev.seedJhash0) % t.length];
          out.via = 2;
        }
      } else if (local) {
        backendId = local[this.rng.nextU32() % count];
      } else {
        const slot = (this.rng.nextU32() % count) + 1;
        const k = this.kSvc;
        lb4KeyV1.set.backend_slot(k, 0, slot);
        const so = this.services.lookup(k);
        if (so >= 0) {
          backendId = lb4ServiceV1.get.backend_id(this.services.bytes, so);
          out.slot = slot;
        }
      }
    }
    if (backendId === 0) return SOCK_NO_BACKEND;
    if (out.slot === 0) out.slot = local ? local.indexOf(backendId) + 1 : this.slotOf(vip, vport, proto, count, backendId);
    lb4BackendKeyV1.set.backend_id(this.kBe, 0, backendId);
    const bo = this.backends.lookup(this.kBe);
    if (bo < 0) return SOCK_NO_BACKEND;
    const bb = this.backends.bytes;
    out.backendId = backendId;
    out.backendAddr = lb4BackendV1.get.address(bb, bo);
    out.backendPort = lb4BackendV1.get.port(bb, bo);
    if (flags & SVC_FLAG_AFFINITY) {
      const ka = this.kAff;
      ka.fill(0);
      lb4AffinityKeyV1.set.client_addr(ka, 0, saddr);
      lb4AffinityKeyV1.set.rev_nat_id(ka, 0, revNat);
      this.vAff.fill(0);
      lbAffinityValV1.set.last_used(this.vAff, 0, nowMs);
      lbAffinityValV1.set.backend_id(this.vAff, 0, backendId);
      this.affinity.update(ka, this.vAff);
    }
    return SOCK_NEW;
  }

  /** Address and port of a backend id into `out` (backendAddr/backendPort); false when it is gone. */
  backendById(backendId: number, out: SockLbResult): boolean {
    lb4BackendKeyV1.set.backend_id(this.kBe, 0, backendId);
    const bo = this.backends.lookup(this.kBe);
    if (bo < 0) return false;
    out.backendId = backendId;
    out.backendAddr = lb4BackendV1.get.address(this.backends.bytes, bo);
    out.backendPort = lb4BackendV1.get.port(this.backends.bytes, bo);
    return true;
  }

  /** The conntrack map for a protocol: TCP in ct4_global, everything else in ct_any4_global (Cilium's split). */
  ctMap(proto: number): BpfMap {
    return proto === IPPROTO_TCP ? this.ct : this.ctAny;
  }

  /** Backend slot (1..count) of a backend id in a frontend, 0 when it is not there. */
  private slotOf(vip: number, vport: number, proto: number, count: number, backendId: number): number {
    const k = this.kSvc;
    k.fill(0);
    lb4KeyV1.set.address(k, 0, vip);
    lb4KeyV1.set.dport(k, 0, vport);
    lb4KeyV1.set.proto(k, 0, proto);
    for (let i = 1; i <= count; i++) {
      lb4KeyV1.set.backend_slot(k, 0, i);
      const o = this.services.lookup(k);
      if (o >= 0 && lb4ServiceV1.get.backend_id(this.services.bytes, o) === backendId) return i;
    }
    return 0;
  }

  private setSkKey(client: number, cport: number, backend: number, bport: number, proto: number): void {
    const k = this.kSk;
    k.fill(0);
    lb4ReverseSkKeyV1.set.client_addr(k, 0, client);
    lb4ReverseSkKeyV1.set.backend_addr(k, 0, backend);
    lb4ReverseSkKeyV1.set.client_port(k, 0, cport);
    lb4ReverseSkKeyV1.set.backend_port(k, 0, bport);
    lb4ReverseSkKeyV1.set.proto(k, 0, proto);
  }

  /**
   * recvmsg4/getpeername4: the Service address a client socket sees for a reply from (backend, bport).
   * Returns the value offset in reverseSk.bytes (read with lb4ReverseSkV1.get.*) or -1.
   */
  reverseLookup(client: number, cport: number, backend: number, bport: number, proto: number): number {
    this.setSkKey(client, cport, backend, bport, proto);
    return this.reverseSk.lookup(this.kSk);
  }

  /**
   * Records one packet of a flow in ct4_global_v1 as bpf_lxc's conntrack does: `dir` 'out' for a flow a local
   * endpoint started (egress), 'in' for one it received (ingress). (saddr, sport) is the packet's source.
   * `reply` counts the packet as rx (a reply in the entry's flow). Creates the entry on first use.
   * Returns the value offset in ct.bytes.
   */
  ctRecord(dir: 'out' | 'in', proto: number, saddr: number, sport: number, daddr: number, dport: number, reply: boolean, nowSec: number, o: CtRecordOptions = {}): number {
    const k = this.kCt;
    k.fill(0);
    // Keyed by the flow's originator: OUT prints daddr:dport -> saddr:sport (Cilium's tuple naming), so the
    // client (the original source) is stored in daddr/dport; IN prints saddr:sport -> daddr:dport.
    const cAddr = reply ? daddr : saddr;
    const cPort = reply ? dport : sport;
    const sAddr = reply ? saddr : daddr;
    const sPort = reply ? sport : dport;
    if (dir === 'out') {
      ipv4CtTupleV1.set.daddr(k, 0, cAddr); ipv4CtTupleV1.set.dport(k, 0, cPort);
      ipv4CtTupleV1.set.saddr(k, 0, sAddr); ipv4CtTupleV1.set.sport(k, 0, sPort);
    } else {
      ipv4CtTupleV1.set.saddr(k, 0, cAddr); ipv4CtTupleV1.set.sport(k, 0, cPort);
      ipv4CtTupleV1.set.daddr(k, 0, sAddr); ipv4CtTupleV1.set.dport(k, 0, sPort);
    }
    ipv4CtTupleV1.set.nexthdr(k, 0, proto);
    ipv4CtTupleV1.set.flags(k, 0, dir === 'out' ? TUPLE_F_OUT : TUPLE_F_IN);
    const map = this.ctMap(proto);
    let off = map.lookup(k);
    const now = Math.floor(nowSec);
    if (off < 0) {
      this.vCt.fill(0);
      ctEntryV1.set.rev_nat_index(this.vCt, 0, o.revNat ?? 0);
      ctEntryV1.set.src_sec_id(this.vCt, 0, o.srcSecId ?? 0);
      ctEntryV1.set.ifindex(this.vCt, 0, o.ifindex ?? 0);
      // An LRU map makes room by evicting its least recently used entry (counted in its stats), as Cilium's do.
      if (map.update(k, this.vCt) !== 0) return -1;
      off = map.lookup(k);
    }
    const b = map.bytes;
    const bytes = o.bytes ?? 0;
    const tcpFlags = o.tcpFlags ?? 0;
    if (o.rx ?? reply) {
      ctEntryV1.set.rx_packets(b, off, ctEntryV1.get.rx_packets(b, off) + 1);
      ctEntryV1.set.rx_bytes(b, off, ctEntryV1.get.rx_bytes(b, off) + bytes);
      ctEntryV1.set.rx_flags_seen(b, off, ctEntryV1.get.rx_flags_seen(b, off) | tcpFlags);
      ctEntryV1.set.last_rx_report(b, off, now);
    } else {
      ctEntryV1.set.tx_packets(b, off, ctEntryV1.get.tx_packets(b, off) + 1);
      ctEntryV1.set.tx_bytes(b, off, ctEntryV1.get.tx_bytes(b, off) + bytes);
      ctEntryV1.set.tx_flags_seen(b, off, ctEntryV1.get.tx_flags_seen(b, off) | tcpFlags);
      ctEntryV1.set.last_tx_report(b, off, now);
    }
    let flags = ctEntryV1.get.flags(b, off) | (o.ctFlags ?? 0);
    const syn = proto === IPPROTO_TCP && (tcpFlags & 0x02) !== 0 && (tcpFlags & 0x10) === 0;
    if (proto === IPPROTO_TCP && !syn) flags |= CT_F_SEEN_NON_SYN;
    ctEntryV1.set.flags(b, off, flags);
    const closing = proto === IPPROTO_TCP && (tcpFlags & 0x05) !== 0;
    ctEntryV1.set.lifetime(b, off, now + this.ctLifetime(proto, flags, closing));
    return off;
  }

  /** ct_update_timeout's choice: non-TCP, closing TCP, established TCP (seen a non-SYN), else SYN. */
  ctLifetime(proto: number, flags: number, closing: boolean): number {
    const c = this.config;
    return proto !== IPPROTO_TCP ? c.ctTimeoutRegularAny : closing ? c.ctTimeoutRegularTcpFin : flags & CT_F_SEEN_NON_SYN ? c.ctTimeoutRegularTcp : c.ctTimeoutRegularTcpSyn;
  }

  frontendByRevNat(revNat: number): FrontendInfo | undefined {
    return this.frontends[revNat - 1];
  }
}

export function buildEbpfNodeState(cluster: Cluster, node: NodeModel, opts: EbpfOptions = {}): EbpfNodeState {
  return new EbpfNodeState(cluster, node, opts);
}

function ipToU32(text: string): number {
  const o = text.split('.').map(Number);
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

export function ipText(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

