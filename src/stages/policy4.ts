import * as CT from '../conntrack/constants.js';
import { Drop } from '../engine/drop-reasons.js';
import type { PacketPool } from '../engine/pool.js';
import type { StageRuntime } from '../engine/runtime.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind } from '../dataplane/devices.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { buildTcpReply } from '../dataplane/tcp-answer.js';
import { buildHttp403, matchHttp } from '../policy/l7.js';
import { hasPorts, type FlowProto } from '../policy/ir.js';
import { podByIp, type PodModel } from '../scenario/model.js';
import { ipv4ToString } from '../packet/format.js';
import { IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, rd16, rd32 } from '../dataplane/wire.js';
import { S } from './names.js';

/** A flow the L7 proxy must see: its first request is matched against the HTTP rules. */
export interface ProxiedFlow {
  readonly pod: PodModel;
  readonly dir: 'ingress' | 'egress';
  readonly peer: number;
  readonly dport: number;
}

function protoOf(p: number): FlowProto {
  return p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : p === IPPROTO_ICMP ? 'icmp' : p === IPPROTO_SCTP ? 'sctp' : 'other';
}

/**
 * Network policy for one direction of one pod, decided on a flow's first packet and cached
 * through conntrack: later packets and replies pass as established, as both real models do
 * (Calico's chains accept ctstate ESTABLISHED first; Cilium's bpf_lxc skips policy on a CT hit).
 * The model is the scenario's: eBPF (per-endpoint policy map lookup, constant cost) in kube-proxy
 * ebpf mode, Calico-style iptables chains walked rule by rule otherwise.
 * REDIRECT (an L7 rule) sends the flow through the proxy: its first request is matched, and a
 * denied one is answered with Envoy's 403 and dropped.
 */
function enforce(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number, pod: PodModel, dir: 'ingress' | 'egress'): boolean {
  const policy = rt.ctx.policy;
  const b = pool.bufs[s];
  const l3 = pool.l3[s];
  const l4 = pool.l4[s];
  const proto = protoOf(b[l3 + 9]);
  const n = pool.ct[s];
  const peer = rd32(b, l3 + (dir === 'egress' ? 16 : 12));
  const ebpf = rt.ctx.ebpf;
  if (ebpf && (proto === 'other' || (proto === 'sctp' && !ebpf.config.enableSctp))) {
    // bpf_lxc's conntrack lookup knows TCP, UDP, ICMP, and SCTP with enable-sctp: any other protocol (GRE, ESP,
    // IGMP) is dropped at every pod endpoint before the policy is consulted (Cilium without
    // enable-extended-ip-protocols).
    if (rt.tracing) rt.trace(s, 'conntrack (bpf)', 'drop CT_UNKNOWN_L4_PROTOCOL', `${dir} of ${pod.namespace}/${pod.name}: IP protocol ${b[l3 + 9]}${proto === 'sctp' ? ' (SCTP without enable-sctp)' : ''}`);
    rt.drop(s, Drop.CT_UNKNOWN_L4_PROTOCOL);
    return false;
  }
  if (n >= 0 && pool.ctinfo[s] !== CT.IP_CT_NEW) {
    // Established: the first packet's verdict holds; an L7 flow's first request still goes to the proxy.
    const proxied = rt.ctx.proxied.get(proxyKey(n >> 1, dir));
    if (proxied && !(n & 1) && l4 >= 0 && b[l3 + 9] === IPPROTO_TCP && !proxyRequest(rt, pool, s, n >> 1, proxied)) return false;
    recordBpfCt(rt, pool, s, pod, dir);
    return true;
  }
  // A datagram without a readable L4 header (a later fragment) passes undecided; a protocol without ports
  // is decided on addresses alone (rules without ports match it, as in Calico's chains).
  if (!policy || (l4 < 0 && proto !== 'other')) {
    recordBpfCt(rt, pool, s, pod, dir);
    return true;
  }
  const dport = hasPorts(proto) ? rd16(b, l4 + 2) : 0;
  const v = policy.decide(pod, dir, peer, proto, dport);
  if (v.verdict === 'DENY') {
    const reason = v.dropReason === 'POLICY_DENY' ? Drop.POLICY_DENY : Drop.POLICY_DENIED;
    if (rt.tracing) {
      rt.trace(s, `policy (${policy.opts.mode})`, `drop ${v.dropReason ?? 'POLICY_DENIED'}`, describeFlow(dir, pod, proto, peer, dport));
      traceWhy(rt, s, policy.opts.mode, policy.explain(pod, dir, peer, proto, dport));
    }
    rt.drop(s, reason);
    return false;
  }
  if (rt.tracing) {
    rt.trace(s, `policy (${policy.opts.mode})`, v.verdict === 'AUDIT' ? 'AUDIT (would drop; audit mode passes it)' : v.verdict === 'REDIRECT' ? `REDIRECT to proxy port ${v.proxyPort}` : 'ALLOW', describeFlow(dir, pod, proto, peer, dport));
    traceWhy(rt, s, policy.opts.mode, policy.explain(pod, dir, peer, proto, dport));
  }
  if (v.verdict === 'REDIRECT' && n >= 0) rt.ctx.proxied.set(proxyKey(n >> 1, dir), { pod, dir, peer, dport });
  recordBpfCt(rt, pool, s, pod, dir);
  return true;
}

/** The evidence behind a policy decision, one trace line each (policy/explain.ts). */
function traceWhy(rt: StageRuntime<NodeContext>, s: number, mode: string, lines: readonly string[]): void {
  for (const l of lines) rt.trace(s, `policy (${mode})`, 'because', l);
}

/**
 * eBPF mode: bpf_lxc's conntrack entry in ct4_global (from-container = OUT at the sender's
 * endpoint, to-container = IN at the receiver's), with Cilium's lifetimes and counters, so
 * `dpemu maps` lists it as `cilium bpf ct list global` would.
 */
function recordBpfCt(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number, pod: PodModel, dir: 'ingress' | 'egress'): void {
  const ebpf = rt.ctx.ebpf;
  // An ICMP error RELATED to a flow is accounted to that flow in Cilium, not given an entry of its own.
  if (!ebpf || pool.ctinfo[s] === CT.IP_CT_RELATED || pool.ctinfo[s] === CT.IP_CT_RELATED_REPLY) return;
  const b = pool.bufs[s];
  const l3 = pool.l3[s];
  const l4 = pool.l4[s];
  const proto = b[l3 + 9];
  // ct_extract_ports4 loads the ports of TCP, UDP and (with enable-sctp, the only way SCTP gets here) SCTP.
  const ports = l4 >= 0 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP);
  const reply = pool.ct[s] >= 0 && (pool.ct[s] & 1) === 1;
  // SourceSecurityID: the identity of the flow's originator (the client), as Cilium records it.
  const client = reply ? rd32(b, l3 + 16) : rd32(b, l3 + 12);
  const srcPod = podByIp(rt.ctx.cluster, client);
  // The endpoint's entry is OUT when it started the flow (its egress in the original direction, or
  // a reply arriving at it) and IN when it accepted the flow, as bpf_lxc keys ct4_global.
  ebpf.ctRecord((dir === 'egress') !== reply ? 'out' : 'in', proto, rd32(b, l3 + 12), ports ? rd16(b, l4) : 0, rd32(b, l3 + 16), ports ? rd16(b, l4 + 2) : 0, reply, rt.now, {
    bytes: rd16(b, l3 + 2),
    tcpFlags: proto === IPPROTO_TCP && l4 >= 0 ? b[l4 + 13] : 0,
    srcSecId: srcPod ? ebpf.identities.forPod(srcPod) : 0,
    ifindex: pool.device[s] + 1,
    rx: dir === 'ingress',
  });
}

/** Trace text for a policy decision: built only when tracing, so the stage allocates nothing otherwise. */
function describeFlow(dir: 'ingress' | 'egress', pod: PodModel, proto: FlowProto, peer: number, dport: number): string {
  return `${dir} of ${pod.namespace}/${pod.name}: ${proto} ${dir === 'egress' ? `to ${ipv4ToString(peer)}` : `from ${ipv4ToString(peer)}`}${hasPorts(proto) ? ` port ${dport}` : ''}`;
}

function proxyKey(entry: number, dir: 'ingress' | 'egress'): number {
  return entry * 2 + (dir === 'egress' ? 1 : 0);
}

/** The proxy sees the first data segment of a REDIRECTed flow: allow it through, or answer 403 and drop. */
function proxyRequest(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number, entry: number, f: ProxiedFlow): boolean {
  const b = pool.bufs[s];
  const l3 = pool.l3[s];
  const l4 = pool.l4[s];
  const off = l4 + (b[l4 + 12] >> 4) * 4;
  const end = l3 + rd16(b, l3 + 2);
  if (end <= off) return true;
  rt.ctx.proxied.delete(proxyKey(entry, f.dir));
  const payload = b.subarray(off, Math.min(end, pool.start[s] + pool.len[s]));
  const rules = rt.ctx.policy!.httpRules(f.pod, f.dir, f.peer, f.dport);
  const line = new TextDecoder().decode(payload.subarray(0, Math.max(0, payload.indexOf(13)))) || '(no request line)';
  if (matchHttp(rules, payload) === 'allow') {
    if (rt.tracing) rt.trace(s, 'proxy (envoy)', 'L7 ALLOW', `${line}: matches a rules.http entry of ${f.pod.namespace}/${f.pod.name}`);
    return true;
  }
  if (rt.tracing) rt.trace(s, 'proxy (envoy)', 'L7 DENY: 403 Forbidden sent', `${line}: no rules.http entry of ${f.pod.namespace}/${f.pod.name} allows it`);
  const r = buildTcpReply(pool, s, buildHttp403(rt.now * 1000));
  if (r >= 0) rt.emit(r, S.IP4_LOOKUP);
  rt.drop(s, Drop.POLICY_DENIED);
  return false;
}

/** Egress policy of the sending pod, on its node, as the packet leaves the pod (from-container). */
export const policy4Egress = defineStage<NodeContext>({
  name: S.POLICY4_EGRESS,
  next: [S.IP4_LOOKUP],
  drops: [Drop.POLICY_DENIED, Drop.POLICY_DENY, Drop.CT_UNKNOWN_L4_PROTOCOL],
  describe: 'network policy: egress of the sending pod',
  process(rt, slots, n, pool) {
    const devices = rt.ctx.devices;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if ((rt.ctx.policy || rt.ctx.ebpf) && pool.device[s] >= 0) {
        const d = devices.get(pool.device[s]);
        if (d.kind === DeviceKind.HOST_VETH && d.pod && !enforce(rt, pool, s, d.pod, 'egress')) continue;
      }
      rt.next(s, 0);
    }
  },
});

/** Ingress policy of the receiving pod, on its node, as the packet is delivered (to-container). */
export const policy4Ingress = defineStage<NodeContext>({
  name: S.POLICY4_INGRESS,
  next: [S.VETH_XMIT],
  drops: [Drop.POLICY_DENIED, Drop.POLICY_DENY, Drop.CT_UNKNOWN_L4_PROTOCOL],
  describe: 'network policy: ingress of the receiving pod',
  process(rt, slots, n, pool) {
    const devices = rt.ctx.devices;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (rt.ctx.policy || rt.ctx.ebpf) {
        const d = devices.get(pool.device[s]);
        if (d.pod && !enforce(rt, pool, s, d.pod, 'ingress')) continue;
      }
      rt.next(s, 0);
    }
  },
});
