import { Drop } from '../engine/drop-reasons.js';
import type { PacketPool } from '../engine/pool.js';
import { defineStage } from '../engine/stage.js';
import type { StageRuntime } from '../engine/runtime.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { natRewrite } from '../dataplane/nat.js';
import { IPPROTO_TCP, IPPROTO_UDP, rd16, rd32 } from '../dataplane/wire.js';
import { SOCK_CONNECTED, SOCK_NEW, SOCK_NO_BACKEND, SockLbResult, ipText } from '../ebpf/state.js';
import { lb4ReverseSkV1 } from '../ebpf/layouts.js';
import { S } from './names.js';

const result = new SockLbResult();

/**
 * Cilium's socket load balancing (bpf_sock.c cgroup/connect4 and sendmsg4), kube-proxy mode ebpf only: a
 * pod's TCP connect() or UDP datagram to a Service frontend is translated at the socket, before the packet
 * exists on the pod's eth0 (the pod's own tcpdump already shows the backend). The backend comes from
 * session affinity, else a random slot (or Maglev); the reverse-sk map remembers the Service address for
 * replies. No per-packet DNAT, no conntrack entry for the translation. Later packets of the socket reuse
 * the connected backend. A frontend without backends: the connect fails (SERVICE_BACKEND_NOT_FOUND).
 * Every other frame passes through untouched.
 */
export const sock4Connect = defineStage<NodeContext>({
  name: S.SOCK4_CONNECT,
  next: [S.VETH_XMIT],
  drops: [Drop.SERVICE_BACKEND_NOT_FOUND],
  describe: 'eBPF socket LB: connect()/sendmsg() to a Service frontend -> backend (bpf_sock)',
  process(rt, slots, n, pool) {
    const eb = rt.ctx.ebpf;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (eb === null) {
        rt.next(s, 0);
        continue;
      }
      const b = pool.bufs[s];
      const l3 = pool.l3[s];
      const l4 = pool.l4[s];
      if (l3 < 0 || l4 < 0 || (b[l3] >> 4) !== 4) {
        rt.next(s, 0);
        continue;
      }
      const proto = b[l3 + 9];
      if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) {
        rt.next(s, 0);
        continue;
      }
      const src = rd32(b, l3 + 12);
      const dst = rd32(b, l3 + 16);
      const sport = rd16(b, l4);
      const dport = rd16(b, l4 + 2);
      const now = pool.tsSec[s] + pool.tsNsec[s] * 1e-9;
      const r = eb.connect(src, sport, dst, dport, proto, now, result);
      if (r === SOCK_NEW || r === SOCK_CONNECTED) {
        natRewrite(pool, s, 1, result.backendAddr, result.backendPort);
        if (rt.tracing) traceXlate(rt, s, r, proto, b[l4 + 13], dst, dport);
        rt.next(s, 0);
      } else if (r === SOCK_NO_BACKEND) {
        if (rt.tracing) rt.trace(s, 'sock4', 'drop SERVICE_BACKEND_NOT_FOUND', `connect() to ${ipText(dst)}:${dport}: lb4_services slot 0 count 0 (rev_nat ${result.revNat}); the socket call fails, nothing is sent`);
        rt.drop(s, Drop.SERVICE_BACKEND_NOT_FOUND);
      } else {
        rt.next(s, 0);
      }
    }
  },
});

function traceXlate(rt: StageRuntime<NodeContext>, s: number, r: number, proto: number, tcpFlags: number, vip: number, vport: number): void {
  const to = `${ipText(vip)}:${vport} -> ${ipText(result.backendAddr)}:${result.backendPort}`;
  if (r === SOCK_CONNECTED) {
    rt.trace(s, 'sock4', `${proto === IPPROTO_UDP ? 'sendmsg()' : 'connected socket'} to ${to}`, `socket already connected to backend_id ${result.backendId} (rev_nat ${result.revNat}): no LB decision, no DNAT`);
    return;
  }
  const mid = proto === IPPROTO_TCP && (tcpFlags & 0x12) !== 0x02 ? '; connect() not in the capture (mid-stream), translated as if it were' : '';
  const how = result.via === 1 ? `session affinity, lb4_services slot ${result.slot}` : result.via === 2 ? `maglev, lb4_services slot ${result.slot}` : `lb4_services slot ${result.slot}`;
  rt.trace(s, 'sock4', `${proto === IPPROTO_UDP ? 'sendmsg()' : 'connect()'} to ${to}`,
    `${how}, backend_id ${result.backendId}, rev_nat ${result.revNat}; lb4_reverse_sk entry written; no per-packet DNAT, no conntrack entry for the translation${mid}`);
}

/**
 * recvmsg4/getpeername4 at delivery to a client pod: a reply from a socket-LB'd backend is shown to the
 * application as from the Service address. The bytes on the wire are unchanged (the translation is in the
 * socket), so this is a trace only. Called by veth-xmit when tracing.
 */
export function sock4RecvTrace(rt: StageRuntime<NodeContext>, s: number, pool: PacketPool): void {
  const eb = rt.ctx.ebpf;
  if (eb === null) return;
  const b = pool.bufs[s];
  const l3 = pool.l3[s];
  const l4 = pool.l4[s];
  if (l3 < 0 || l4 < 0) return;
  const proto = b[l3 + 9];
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return;
  const src = rd32(b, l3 + 12);
  const sport = rd16(b, l4);
  const off = eb.reverseLookup(rd32(b, l3 + 16), rd16(b, l4 + 2), src, sport, proto);
  if (off < 0) return;
  const sb = eb.reverseSk.bytes;
  rt.trace(s, 'sock4', `recvmsg() revnat ${ipText(src)}:${sport} -> ${ipText(lb4ReverseSkV1.get.address(sb, off))}:${lb4ReverseSkV1.get.port(sb, off)}`,
    `lb4_reverse_sk hit (rev_nat ${lb4ReverseSkV1.get.rev_nat_index(sb, off)}): the application sees the Service address; bytes unchanged`);
}
