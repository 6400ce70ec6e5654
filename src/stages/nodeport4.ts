import { Drop } from '../engine/drop-reasons.js';
import type { StageRuntime } from '../engine/runtime.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind } from '../dataplane/devices.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { natRewrite } from '../dataplane/nat.js';
import { IPPROTO_TCP, IPPROTO_UDP, rd16, rd32 } from '../dataplane/wire.js';
import { NP_NAT_FAILED, NP_NO_BACKEND, NP_PASS, NP_REVNAT, NP_XLATED, NodePortLb, NodePortResult } from '../ebpf/nodeport.js';
import { ipText, type EbpfNodeState } from '../ebpf/state.js';
import { S } from './names.js';

const result = new NodePortResult();
/** One NodePort LB per node's eBPF state, made on first use (the state is built with the node context). */
const lbs = new WeakMap<EbpfNodeState, NodePortLb>();

/**
 * Cilium's bpf_host / bpf_overlay nodeport_lb4 (kube-proxy mode ebpf only), where tc ingress of the NIC or
 * the tunnel device runs, after reassembly and before netfilter and routing. A TCP/UDP packet from outside
 * the node to a NodePort frontend on the node's address is load-balanced, DNATed to a backend and, for a
 * remote backend, SNATed (src/ebpf/nodeport.ts); a reply to a SNAT mapping is reverse-translated. Routing and
 * the VXLAN stages then carry it as any forwarded packet. Everything else passes: packets not addressed to
 * the node cost a compare, packets to it at most one map lookup (NodePort range: lb4_services; Cilium's NAT
 * range 32768-65535: the SNAT map). Pod traffic (host veths) is the socket LB's; the VXLAN outer packet passes.
 */
export const nodeport4 = defineStage<NodeContext>({
  name: S.NODEPORT4,
  next: [S.IPVS4_IN],
  drops: [Drop.SERVICE_BACKEND_NOT_FOUND, Drop.CT_MAP_INSERTION_FAILED, Drop.NO_MAPPING_FOR_NAT_MASQUERADE],
  describe: 'eBPF NodePort LB from outside the node: DNAT + SNAT, reverse NAT of replies (bpf_host nodeport_lb4)',
  process(rt, slots, n, pool) {
    const eb = rt.ctx.ebpf;
    let lb: NodePortLb | undefined;
    if (eb !== null) {
      lb = lbs.get(eb);
      if (lb === undefined) {
        lb = new NodePortLb(eb);
        lbs.set(eb, lb);
      }
    }
    const devices = rt.ctx.devices;
    const tun = rt.ctx.cluster.tunnel;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (lb === undefined) {
        rt.next(s, 0);
        continue;
      }
      const b = pool.bufs[s];
      const l3 = pool.l3[s];
      const l4 = pool.l4[s];
      const proto = b[l3 + 9];
      const dst = rd32(b, l3 + 16);
      if (l4 < 0 || (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) || !lb.isLocal(dst) || pool.device[s] < 0) {
        rt.next(s, 0);
        continue;
      }
      const kind = devices.get(pool.device[s]).kind;
      const dport = rd16(b, l4 + 2);
      if ((kind !== DeviceKind.UNDERLAY && kind !== DeviceKind.VXLAN) || (proto === IPPROTO_UDP && tun.mode === 'vxlan' && dport === tun.port)) {
        rt.next(s, 0);
        continue;
      }
      const src = rd32(b, l3 + 12);
      const sport = rd16(b, l4);
      const flags = proto === IPPROTO_TCP ? b[l4 + 13] : 0;
      const bytes = rd16(b, l3 + 2);
      if (NodePortLb.inNatRange(dport)) {
        if (lb.revNat(proto, src, sport, dst, dport, flags, bytes, rt.now, result) === NP_REVNAT) {
          natRewrite(pool, s, 1, result.clientAddr, result.clientPort);
          if (result.frontPort !== 0) natRewrite(pool, s, 0, result.frontAddr, result.frontPort);
          if (rt.tracing) traceRev(rt, s, src, sport);
        }
        rt.next(s, 0);
        continue;
      }
      const r = lb.lb(proto, src, sport, dst, dport, flags, bytes, rt.now, pool.device[s] + 1, result);
      if (r === NP_PASS) {
        rt.next(s, 0);
      } else if (r === NP_XLATED) {
        natRewrite(pool, s, 1, result.lb.backendAddr, result.lb.backendPort);
        if (result.snat) natRewrite(pool, s, 0, result.natAddr, result.natPort);
        if (rt.tracing) traceXlate(rt, s, proto);
        rt.next(s, 0);
      } else if (r === NP_NO_BACKEND) {
        if (rt.tracing) rt.trace(s, 'nodeport', 'drop SERVICE_BACKEND_NOT_FOUND', `${ipText(dst)}:${dport}: lb4_services frontend has no backend${eb!.frontendByRevNat(result.lb.revNat)?.service.externalTrafficPolicy === 'Local' ? ' on this node (externalTrafficPolicy Local)' : ''} (rev_nat ${result.lb.revNat})`);
        rt.drop(s, Drop.SERVICE_BACKEND_NOT_FOUND);
      } else {
        // Cilium drops DROP_NAT_NO_MAPPING (no free SNAT port) or a CT insertion failure; dpemu counts both here.
        const natFailed = r === NP_NAT_FAILED;
        if (rt.tracing) rt.trace(s, 'nodeport', natFailed ? 'drop NO_MAPPING_FOR_NAT_MASQUERADE' : 'drop CT_MAP_INSERTION_FAILED', natFailed ? 'no free SNAT port in 32768-65535 after 128 tries (Cilium: DROP_NAT_NO_MAPPING)' : 'ct4_global refused the entry');
        rt.drop(s, natFailed ? Drop.NO_MAPPING_FOR_NAT_MASQUERADE : Drop.CT_MAP_INSERTION_FAILED);
      }
    }
  },
});

function traceXlate(rt: StageRuntime<NodeContext>, s: number, proto: number): void {
  const r = result.lb;
  const front = `${ipText(result.frontAddr)}:${result.frontPort}`;
  const how = result.established ? `ct service entry: backend_id ${r.backendId}` : `${r.via === 1 ? 'session affinity, ' : r.via === 2 ? 'maglev, ' : ''}lb4_services slot ${r.slot}, backend_id ${r.backendId}`;
  rt.trace(s, 'nodeport', `DNAT ${front} -> ${ipText(r.backendAddr)}:${r.backendPort}`,
    `${proto === IPPROTO_TCP ? 'TCP' : 'UDP'} from ${ipText(result.clientAddr)}:${result.clientPort}: ${how}, rev_nat ${r.revNat}; ct4 OUT entry [ NodePort ]`);
  if (result.snat) {
    rt.trace(s, 'nodeport', `SNAT ${ipText(result.clientAddr)}:${result.clientPort} -> ${ipText(result.natAddr)}:${result.natPort}`,
      `backend is remote (ipcache tunnelendpoint ${ipText(result.tunnel)}): snat_v4_external mapping${result.collisions ? ` (${result.collisions} port collisions)` : ''}`);
  } else {
    rt.trace(s, 'nodeport', 'no SNAT', 'backend is local: delivered with the client\'s address');
  }
}

function traceRev(rt: StageRuntime<NodeContext>, s: number, src: number, sport: number): void {
  const front = result.frontPort !== 0 ? `; RevNAT ${result.lb.revNat}: source ${ipText(src)}:${sport} -> ${ipText(result.frontAddr)}:${result.frontPort}` : '; no CT entry: source left as is';
  rt.trace(s, 'nodeport', `rev-SNAT ${ipText(result.natAddr)}:${result.natPort} -> ${ipText(result.clientAddr)}:${result.clientPort}`, `snat_v4_external IN entry${front}`);
}
