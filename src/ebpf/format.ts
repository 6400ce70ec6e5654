/**
 * Text dumps of a node's eBPF maps in the Cilium agent's formats (cilium-dbg bpf ... list/get):
 *   bpf lb list        SERVICE ADDRESS / BACKEND ADDRESS (REVNAT_ID) (SLOT), frontend rows "0.0.0.0:0 (rev) (0) [flags]"
 *   bpf ct list global "TCP OUT a:p -> b:q expires=... RxPackets=... TxPackets=... Flags=... RevNAT=... SourceSecurityID=..."
 *   bpf ipcache list   IP PREFIX/ADDRESS, IDENTITY "identity=N encryptkey=0 tunnelendpoint=A flags=<none>"
 *   bpf policy get     POLICY DIRECTION LABELS PORT/PROTO PROXY PORT AUTH TYPE BYTES PACKETS PREFIX
 * Entries are sorted (Cilium sorts lb/ipcache output too) so a dump is stable.
 */
import {
  ctEntryV1, ipcacheKeyV1, ipv4CtTupleV1, lb4BackendKeyV1, lb4BackendV1, lb4KeyV1, lb4ServiceV1, remoteEndpointInfoV1,
  CT_F_NODE_PORT, CT_F_PROXY_REDIRECT, CT_F_RX_CLOSING, CT_F_SEEN_NON_SYN, CT_F_TX_CLOSING, CT_F_DSR, CT_F_LB_LOOPBACK,
  TUPLE_F_IN,
} from '../maps/cilium-layouts.js';
import { reservedLabel } from '../identity/identities.js';
import { policyKeyPorts, type PolicyKey, type PolicyValue } from '../policy/policy-map.js';
import type { PodModel } from '../scenario/model.js';
import { SVC_FLAG_AFFINITY, SVC_FLAG_INT_LOCAL_SCOPE, SVC_FLAG_LOADBALANCER, SVC_FLAG_NODEPORT, SVC_FLAG_ROUTABLE, ipv4NatEntryV1 } from './layouts.js';
import { type EbpfNodeState, ipText, protoName } from './state.js';

function table(rows: string[][]): string[] {
  const w: number[] = [];
  for (const r of rows) r.forEach((c, i) => { w[i] = Math.max(w[i] ?? 0, c.length); });
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] + 3))).join('').trimEnd());
}

function svcFlags(flags: number, flags2: number): string {
  const out: string[] = [];
  if (flags & SVC_FLAG_NODEPORT) out.push('NodePort');
  else if (flags & SVC_FLAG_LOADBALANCER) out.push('LoadBalancer');
  else out.push('ClusterIP');
  if (flags & SVC_FLAG_AFFINITY) out.push('sessionAffinity');
  if (flags2 & SVC_FLAG_INT_LOCAL_SCOPE) out.push('InternalLocal');
  if (!(flags & SVC_FLAG_ROUTABLE)) out.push('non-routable');
  return `[${out.join(', ')}]`;
}

/** `cilium-dbg bpf lb list`. */
export function formatLbList(st: EbpfNodeState): string[] {
  const rows: Array<{ sort: [number, number, number, number]; cols: string[] }> = [];
  for (const { key, value } of st.services.entries()) {
    const k = lb4KeyV1.decode(key);
    const v = lb4ServiceV1.decode(value);
    const proto = protoName(k.proto);
    const fe = `${ipText(k.address)}:${k.dport}/${proto} (${k.backend_slot})`;
    let be: string;
    if (k.backend_slot === 0) be = `0.0.0.0:0 (${v.rev_nat_index}) (0) ${svcFlags(v.flags, v.flags2)}`;
    else {
      const bo = st.backends.lookup(lb4BackendKeyV1.encode({ backend_id: v.backend_id }));
      const b = bo >= 0 ? lb4BackendV1.decode(st.backends.bytes, bo) : null;
      be = b ? `${ipText(b.address)}:${b.port}/${proto} (${v.rev_nat_index}) (${k.backend_slot})` : `<backend ${v.backend_id} missing> (${v.rev_nat_index}) (${k.backend_slot})`;
    }
    rows.push({ sort: [k.address, k.dport, k.proto, k.backend_slot], cols: [fe, be] });
  }
  rows.sort((a, b) => a.sort[0] - b.sort[0] || a.sort[1] - b.sort[1] || a.sort[2] - b.sort[2] || a.sort[3] - b.sort[3]);
  return table([['SERVICE ADDRESS', 'BACKEND ADDRESS (REVNAT_ID) (SLOT)'], ...rows.map((r) => r.cols)]);
}

function ctFlagNames(f: number): string {
  const names: string[] = [];
  if (f & CT_F_RX_CLOSING) names.push('RxClosing');
  if (f & CT_F_TX_CLOSING) names.push('TxClosing');
  if (f & CT_F_LB_LOOPBACK) names.push('LBLoopback');
  if (f & CT_F_SEEN_NON_SYN) names.push('SeenNonSyn');
  if (f & CT_F_NODE_PORT) names.push('NodePort');
  if (f & CT_F_PROXY_REDIRECT) names.push('ProxyRedirect');
  if (f & CT_F_DSR) names.push('DSR');
  return `[ ${names.length ? names.join(' ') + ' ' : ''}]`;
}

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/** `cilium-dbg bpf ct list global` (the pre-1.16 field set with Rx/Tx counters, as the issue quotes it). */
export function formatCtList(st: EbpfNodeState): string[] {
  const lines: string[] = [];
  // Both maps, as `cilium bpf ct list global` dumps cilium_ct4_global and cilium_ct_any4_global together.
  for (const { key, value } of [...st.ct.entries(), ...st.ctAny.entries()]) {
    const k = ipv4CtTupleV1.decode(key);
    const v = ctEntryV1.decode(value);
    const p = protoName(k.nexthdr);
    const head = k.flags & TUPLE_F_IN
      ? `${p} IN ${ipText(k.saddr)}:${k.sport} -> ${ipText(k.daddr)}:${k.dport}`
      : `${p} OUT ${ipText(k.daddr)}:${k.dport} -> ${ipText(k.saddr)}:${k.sport}${k.flags & 4 ? ' service' : ''}`;
    lines.push(`${head} expires=${v.lifetime} RxPackets=${v.rx_packets} RxBytes=${v.rx_bytes} RxFlagsSeen=${hex2(v.rx_flags_seen)} LastRxReport=${v.last_rx_report} ` +
      `TxPackets=${v.tx_packets} TxBytes=${v.tx_bytes} TxFlagsSeen=${hex2(v.tx_flags_seen)} LastTxReport=${v.last_tx_report} ` +
      `Flags=0x${v.flags.toString(16).padStart(4, '0')} ${ctFlagNames(v.flags)} RevNAT=${v.rev_nat_index} SourceSecurityID=${v.src_sec_id} IfIndex=${v.ifindex} `);
  }
  return lines.sort();
}

/** `cilium-dbg bpf ipcache list`. */
export function formatIpcacheList(st: EbpfNodeState): string[] {
  const rows: Array<{ a: number; l: number; cols: string[] }> = [];
  for (const { key, value } of st.ipcache.entries()) {
    const k = ipcacheKeyV1.decode(key);
    const v = remoteEndpointInfoV1.decode(value);
    rows.push({ a: k.addr, l: k.prefixlen, cols: [`${ipText(k.addr)}/${k.prefixlen}`, `identity=${v.sec_identity} encryptkey=${v.key} tunnelendpoint=${ipText(v.tunnel_endpoint)} flags=<none>`] });
  }
  rows.sort((x, y) => x.a - y.a || x.l - y.l);
  return table([['IP PREFIX/ADDRESS', 'IDENTITY'], ...rows.map((r) => r.cols)]);
}



/**
 * `cilium-dbg bpf policy get <endpoint>` from the endpoint's policy map entries (src/policy). A direction the
 * endpoint does not enforce shows Cilium's allow-all entry (identity 0, ANY).
 */
export function formatPolicyGet(st: EbpfNodeState, entries: Iterable<[PolicyKey, PolicyValue]> | null, enforced: { ingress: boolean; egress: boolean }): string[] {
  const labelsOf = new Map<number, string[]>();
  for (const [set, id] of st.identities.entries()) labelsOf.set(id, set.split(','));
  const rows: Array<{ sort: string; cols: string[][] }> = [];
  const add = (k: PolicyKey, v: PolicyValue): void => {
    const labels = reservedLabel(k.identity) !== undefined ? [reservedLabel(k.identity)!] : labelsOf.get(k.identity) ?? [`cidr-identity:${k.identity}`];
    const first = [v.deny ? 'Deny' : 'Allow', k.egress ? 'Egress' : 'Ingress', labels[0], policyKeyPorts(k, protoName), v.proxyPort ? String(v.proxyPort) : 'NONE', 'disabled', '0', '0', String(k.prefixLen)];
    const cols = [first, ...labels.slice(1).map((l) => ['', '', l, '', '', '', '', '', ''])];
    rows.push({ sort: `${k.egress}|${String(k.identity).padStart(10, '0')}|${String(k.proto).padStart(3, '0')}|${String(k.dport).padStart(5, '0')}|${k.prefixLen}`, cols });
  };
  if (!enforced.ingress) add({ identity: 0, egress: 0, proto: 0, dport: 0, prefixLen: 0 }, { deny: false, proxyPort: 0, proxyPortPriority: 0, prefixLen: 0 });
  if (!enforced.egress) add({ identity: 0, egress: 1, proto: 0, dport: 0, prefixLen: 0 }, { deny: false, proxyPort: 0, proxyPortPriority: 0, prefixLen: 0 });
  for (const [k, v] of entries ?? []) add(k, v);
  rows.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
  return table([['POLICY', 'DIRECTION', 'LABELS (source:key[=value])', 'PORT/PROTO', 'PROXY PORT', 'AUTH TYPE', 'BYTES', 'PACKETS', 'PREFIX'], ...rows.flatMap((r) => r.cols)]);
}

export function endpointTitle(st: EbpfNodeState, pod: PodModel): string {
  return `${pod.namespace}/${pod.name} (identity ${st.identities.forPod(pod)}, ${pod.ip})`;
}

/** `cilium-dbg bpf nat list` for snat_v4_external (egress entries XLATE_SRC, ingress entries XLATE_DST). */
export function formatNatList(st: EbpfNodeState): string[] {
  const lines: string[] = [];
  for (const { key, value } of st.snat.entries()) {
    const k = ipv4CtTupleV1.decode(key);
    const v = ipv4NatEntryV1.decode(value);
    const dir = k.flags & TUPLE_F_IN ? 'IN' : 'OUT';
    lines.push(`${protoName(k.nexthdr)} ${dir} ${ipText(k.saddr)}:${k.sport} -> ${ipText(k.daddr)}:${k.dport} ${dir === 'IN' ? 'XLATE_DST' : 'XLATE_SRC'} ${ipText(v.addr)}:${v.port} Created=${v.created} NeedsCT=${v.needs_ct}`);
  }
  return lines.sort();
}
