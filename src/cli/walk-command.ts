/**
 * `dpemu walk`: one packet from a pod (or a node's own stack) to a Service, a pod, a node or an address, and
 * with --reply the answer of the pod that received it, walked hop by hop with the trace, without a capture.
 * The frames are built here and written to a pcapng (kept with --save, so `dpemu replay` or Wireshark can
 * open them), then replayed like any capture (replay-command.ts): one mechanism prints every walk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, PcapngWriter } from '../capture/index.js';
import { Dataplane } from '../dataplane/dataplane.js';
import { DeviceKind, DeviceTable, type Device } from '../dataplane/devices.js';
import type { EngineObserver } from '../engine/runtime.js';
import { DeviceCapture } from '../observe/device-capture.js';
import { buildFrame, type LayerSpec } from '../packet/build.js';
import { parsePacket } from '../packet/parse.js';
import { PacketView, TcpFlag, type LayerView } from '../packet/view.js';
import { HOST_VETH_MAC } from '../scenario/addressing.js';
import { formatIpv4, parseIpv4 } from '../scenario/ipv4.js';
import { replicaSetOf } from '../scenario/workloads.js';
import { endpointsForService, nodeByName, serviceByName, type Cluster, type NodeModel, type PodModel, type ServiceModel } from '../scenario/model.js';
import { DpemuError } from '../util/errors.js';
import type { Io } from './io.js';
import { replay } from '../replay/replay.js';
import { replayCommand, type ReplayCommandOptions } from './replay-command.js';

export type WalkProto = 'tcp' | 'udp' | 'icmp';

export interface WalkOptions extends Omit<ReplayCommandOptions, 'trace' | 'quiet' | 'at'> {
  /** A pod (`name` or `namespace/name`) or a node (its own stack sends). */
  readonly from: string;
  /** A Service, pod or node (`name[:port]`, `namespace/name[:port]`) or an IPv4 address (`10.96.0.10:53`). */
  readonly to: string;
  readonly proto?: WalkProto;
  readonly sport?: number;
  /** Also send the answer of the pod that received the packet (SYN-ACK, UDP reply, echo reply). */
  readonly reply?: boolean;
  /** Keep the frames sent here as a pcapng; by default they go to a temporary file. */
  readonly save?: string;
  /** Without a trace: one line per packet only. */
  readonly brief?: boolean;
  /** Send this many requests, from sport, sport + 1, ... (1 ms apart): the load balancer's choices side by side. */
  readonly connections?: number;
}

export class WalkError extends DpemuError {}

/** What is wrong with a --connections value (raw, as given; undefined: the default 1), else undefined. */
export function connectionsProblem(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return /^\d+$/.test(String(v)) && n >= 1 && n <= 1000 ? undefined : `--connections must be 1-1000, got ${String(v)}`;
}

/** What the sender is: a pod's eth0 (an Ethernet frame to its gateway) or a node's own stack (raw IPv4). */
type Sender = { kind: 'pod'; pod: PodModel; device: Device } | { kind: 'node'; node: NodeModel };
interface Target { ip: string; port: number; proto: WalkProto; what: string }

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const T0 = 1_700_000_000;

function byName<T extends { name: string; namespace: string }>(items: readonly T[], ref: string): T[] {
  const slash = ref.indexOf('/');
  return slash < 0 ? items.filter((x) => x.name === ref) : items.filter((x) => `${x.namespace}/${x.name}` === ref);
}

function one<T extends { name: string; namespace: string }>(found: readonly T[], ref: string, kind: string): T | undefined {
  if (found.length > 1) throw new WalkError('BAD_WALK', `${kind} "${ref}" is in several namespaces (${found.map((x) => x.namespace).join(', ')}): write namespace/name`);
  return found[0];
}

/**
 * A pod by name or namespace/name, else by its workload's name (`--from client` for a Deployment's pod:
 * the first of its pods by name, said on stderr), else undefined.
 */
function podRef(cluster: Cluster, ref: string, option: string, io: Io): PodModel | undefined {
  const pod = one(byName(cluster.pods, ref), ref, 'pod');
  if (pod) return pod;
  const slash = ref.indexOf('/');
  const [ns, name] = slash < 0 ? [undefined, ref] : [ref.slice(0, slash), ref.slice(slash + 1)];
  // A Deployment's pods are owned by its ReplicaSet (<deployment>-<pod-template-hash>).
  const viaRs = (o: { kind: string; name: string } | undefined): boolean => o?.kind === 'ReplicaSet' && replicaSetOf(o.name, name);
  const owned = cluster.pods.filter((p) => (p.owner?.name === name || viaRs(p.owner)) && (ns === undefined || p.namespace === ns));
  if (owned.length === 0) return undefined;
  one([...new Map(owned.map((p) => [p.namespace, p])).values()], ref, 'workload');
  const first = [...owned].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0]!;
  const kind = viaRs(first.owner) ? 'Deployment' : first.owner!.kind;
  io.err(`dpemu walk: ${option} ${ref}: ${kind} ${first.namespace}/${name}'s pod ${first.name} (1 of ${owned.length})\n`);
  return first;
}

function sender(cluster: Cluster, devices: readonly Device[], ref: string, io: Io): Sender {
  const pod = podRef(cluster, ref, '--from', io);
  if (pod) {
    const device = devices.find((d) => d.kind === DeviceKind.POD_ETH0 && d.pod === pod)!;
    return { kind: 'pod', pod, device };
  }
  const node = nodeByName(cluster, ref);
  if (node) return { kind: 'node', node };
  throw new WalkError('BAD_WALK', `--from ${ref}: no pod or node of that name (pods: ${cluster.pods.map((p) => `${p.namespace}/${p.name}`).join(', ') || 'none'}; nodes: ${cluster.nodes.map((n) => n.name).join(', ')})`);
}

/** `ref[:port]`: the port a number, or a port's name (a Service's or a container's, as Kubernetes names them). */
function splitPort(text: string): { ref: string; port: number | undefined; portName: string | undefined } {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { ref: text, port: undefined, portName: undefined };
  const ref = text.slice(0, colon);
  const after = text.slice(colon + 1);
  if (/^\d+$/.test(after)) {
    const port = Number(after);
    if (port < 1 || port > 65535) throw new WalkError('BAD_WALK', `--to ${text}: the port must be 1-65535`);
    return { ref, port, portName: undefined };
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(after)) {
    throw new WalkError('BAD_WALK', `--to ${text}: "${after}" is neither a port number (1-65535) nor a port name (lower-case letters, digits, '-')`);
  }
  return { ref, port: undefined, portName: after };
}

/** The port called `name` among `ports`, else a WalkError listing the names there are. */
function namedPort<P extends { readonly name: string; readonly port: number }>(ports: readonly P[], name: string, text: string, what: string): P {
  const found = ports.find((p) => p.name === name);
  if (found) return found;
  const names = ports.map((p) => p.name).filter((n) => n !== '');
  throw new WalkError('BAD_WALK', `--to ${text}: ${what} has no port named ${name} (${names.length ? `its named ports: ${names.join(', ')}` : 'its ports have no names'})`);
}

/**
 * The protocol to send: --proto, else the port's. An SCTP port has no packet dpemu walk can build; sending a TCP
 * SYN instead would walk a flow no rule matches, so the user chooses.
 */
function protoOf(portProtocol: string | undefined, proto: WalkProto | undefined, text: string, port: string): WalkProto {
  if (proto !== undefined) return proto;
  if (portProtocol === 'SCTP') {
    throw new WalkError('BAD_WALK', `--to ${text}: ${port} is SCTP, and dpemu walk sends tcp, udp or icmp; give --proto to send one of those to it anyway`);
  }
  return portProtocol === 'UDP' ? 'udp' : 'tcp';
}

function target(cluster: Cluster, text: string, proto: WalkProto | undefined, io: Io): Target {
  const { ref, port, portName } = splitPort(text);
  const svc: ServiceModel | undefined = one(byName(cluster.services, ref), ref, 'Service') ?? serviceByDnsName(cluster, ref);
  const vip = svc?.clusterIp ?? null;
  if (svc && vip === null) {
    // A headless Service's name resolves to its ready endpoints' addresses: the first, as a client takes it.
    const ep = endpointsForService(cluster, svc.namespace, svc.name).flatMap((e) => e.endpoints.map((a) => ({ a, ports: e.ports }))).find((x) => x.a.ready);
    if (!ep) throw new WalkError('BAD_WALK', `--to ${text}: Service ${svc.namespace}/${svc.name} is headless (no ClusterIP) and has no ready endpoint to resolve to`);
    const sp = portName !== undefined
      ? namedPort(ep.ports, portName, text, `headless Service ${svc.namespace}/${svc.name}'s endpoint`)
      : port === undefined ? ep.ports[0] : ep.ports.find((p) => p.port === port) ?? { port, protocol: 'TCP' };
    io.err(`dpemu walk: --to ${text}: headless Service ${svc.namespace}/${svc.name} resolves to its endpoint ${ep.a.ip}${ep.a.podName ? ` (pod ${ep.a.podName})` : ''}\n`);
    const p = protoOf(sp?.protocol, proto, text, `endpoint ${ep.a.ip} port ${sp?.port ?? 80}`);
    return { ip: ep.a.ip, port: sp?.port ?? 80, proto: p, what: `headless Service ${svc.namespace}/${svc.name} (${ep.a.ip})` };
  }
  if (svc && vip !== null) {
    const sp = portName !== undefined ? namedPort(svc.ports, portName, text, `Service ${svc.namespace}/${svc.name}`) : port === undefined ? svc.ports[0] : svc.ports.find((p) => p.port === port);
    if (!sp) throw new WalkError('BAD_WALK', `--to ${text}: Service ${svc.namespace}/${svc.name} has ${svc.ports.length ? `port(s) ${svc.ports.map((p) => p.port).join(', ')}` : 'no ports'}`);
    const p = protoOf(sp.protocol, proto, text, `Service ${svc.namespace}/${svc.name} port ${sp.port}`);
    return { ip: vip, port: sp.port, proto: p, what: `Service ${svc.namespace}/${svc.name} (${vip}:${sp.port})` };
  }
  const pod = podRef(cluster, ref, '--to', io) ?? podByDnsName(cluster, ref);
  if (pod) {
    if (portName !== undefined) {
      const cp = namedPort(pod.containerPorts, portName, text, `pod ${pod.namespace}/${pod.name}`);
      const p = protoOf(cp.protocol, proto, text, `pod ${pod.namespace}/${pod.name}'s container port ${cp.name} (${cp.port})`);
      return { ip: pod.ip, port: cp.port, proto: p, what: `pod ${pod.namespace}/${pod.name}` };
    }
    const cp = pod.containerPorts[0];
    const p = protoOf(cp?.protocol, proto, text, `pod ${pod.namespace}/${pod.name}'s first container port ${cp?.port ?? 80}`);
    return { ip: pod.ip, port: port ?? cp?.port ?? 80, proto: p, what: `pod ${pod.namespace}/${pod.name}` };
  }
  const node = nodeByName(cluster, ref);
  const address = !node && parseIpv4(ref) !== null;
  if (portName !== undefined && (node || address)) {
    throw new WalkError('BAD_WALK', `--to ${text}: a port name needs a Service or a pod to look it up in; give ${ref} a port number`);
  }
  if (node) return { ip: node.ip, port: port ?? 80, proto: proto ?? 'tcp', what: `node ${node.name}` };
  if (address) return { ip: ref, port: port ?? 80, proto: proto ?? 'tcp', what: ref };
  throw new WalkError('BAD_WALK', `--to ${text}: no Service, pod or node of that name, and not an IPv4 address (Services: ${cluster.services.map((s) => `${s.namespace}/${s.name}`).join(', ') || 'none'})`);
}

/**
 * A Service by its DNS name as a pod would resolve it: `web.default`, `web.default.svc`,
 * `web.default.svc.cluster.local` (dpemu has no DNS server; the name stands for the ClusterIP).
 */
function serviceByDnsName(cluster: Cluster, ref: string): ServiceModel | undefined {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?\.?$/.exec(ref);
  return m ? serviceByName(cluster, m[2]!, m[1]!) : undefined;
}

/** A pod by its DNS name under a headless Service, as StatefulSet pods are addressed: `db-0.db.default.svc.cluster.local`. */
function podByDnsName(cluster: Cluster, ref: string): PodModel | undefined {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?\.?$/.exec(ref);
  if (!m || serviceByName(cluster, m[3]!, m[2]!)?.clusterIp !== null) return undefined;
  return cluster.pods.find((p) => p.name === m[1] && p.namespace === m[3]);
}

function l4(t: Target, sport: number, reply: boolean): LayerSpec[] {
  if (t.proto === 'icmp') return [{ type: 'icmp4', icmpType: reply ? 0 : 8, id: sport, seq: 1 }];
  if (t.proto === 'udp') return [{ type: 'udp', srcPort: sport, dstPort: t.port }];
  return [{ type: 'tcp', srcPort: sport, dstPort: t.port, seq: reply ? 5000 : 1000, ack: reply ? 1001 : 0, flags: reply ? TcpFlag.SYN | TcpFlag.ACK : TcpFlag.SYN, mss: 1460 }];
}

const utf8 = new TextEncoder();

/** A packet to `t` from `sport`, as its sender puts it on the wire: Ethernet from a pod's eth0 to its gateway, raw IPv4 from a node. */
function frameFrom(from: { pod: PodModel } | { node: NodeModel }, t: Target, sport: number, reply: boolean): Uint8Array {
  const payload = t.proto === 'udp' ? utf8.encode(reply ? 'dpemu walk reply' : 'dpemu walk') : undefined;
  if ('pod' in from) return buildFrame([{ type: 'eth', src: from.pod.mac, dst: HOST_VETH_MAC }, { type: 'ipv4', src: from.pod.ip, dst: t.ip }, ...l4(t, sport, reply)], payload);
  return buildFrame([{ type: 'ipv4', src: from.node.ip, dst: t.ip }, ...l4(t, sport, reply)], payload);
}

const view = new PacketView();

/** The walk's request as a pod received it: IPv4 of its protocol, a SYN without ACK, or an echo request. */
function asRequest(b: Uint8Array, proto: WalkProto): LayerView | null {
  if (parsePacket(view, b, 0, b.length, b.length, LINKTYPE_ETHERNET) !== 0) return null;
  const l = view.layers[0]!;
  if (l.ipVersion !== 4 || l.ipIsFragment) return null;
  if (proto === 'tcp') return l.ipProto === 6 && (l.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN ? l : null;
  if (proto === 'udp') return l.ipProto === 17 ? l : null;
  return l.ipProto === 1 && l.icmpType === 8 ? l : null;
}

interface Sent { frame: Uint8Array; linkType: number; iface?: string; tsNsec: number; comment: string }

async function writeCapture(file: string, frames: readonly Sent[]): Promise<void> {
  const w = new PcapngWriter({ userAppl: 'dpemu walk' }, new FileSink(file));
  for (const f of frames) {
    const id = w.addInterface({ linkType: f.linkType, ...(f.iface === undefined ? {} : { name: f.iface }) });
    w.writePacket(id, f.frame, T0, f.tsNsec, f.frame.length, f.comment);
  }
  await w.close();
}

/**
 * Replays the request alone (the same attachment as the walk, no output) and answers from the pod it
 * reached, to the addresses that pod saw (after any DNAT/SNAT); null when no pod received it.
 */
async function answer(cluster: Cluster, file: string, t: Target, o: WalkOptions): Promise<{ frame: Uint8Array; device: Device } | null> {
  const observers: EngineObserver[] = [];
  const dp = new Dataplane(cluster, { observers, engine: o.engine ?? 'ts', poolSize: 1024 });
  const cap = new DeviceCapture(dp.pool, dp.devices.all);
  observers.push(cap);
  await replay({ capture: file, cluster }, dp);
  // The request where a pod received it (not, say, the ICMP error a node sent back to the sender).
  for (const f of cap.frames) {
    const device = dp.devices.get(f.device);
    const l = f.dir === 0 && device.kind === DeviceKind.POD_ETH0 ? asRequest(f.bytes, t.proto) : null;
    if (l === null) continue;
    // The reply goes back to the source port (or ICMP id) the pod saw, from the port it was sent to.
    const back: Target = { ip: formatIpv4(l.src4), port: t.proto === 'icmp' ? 0 : l.srcPort, proto: t.proto, what: '' };
    return { frame: frameFrom({ pod: device.pod! }, back, t.proto === 'icmp' ? l.icmpId : l.dstPort, true), device };
  }
  return null;
}

/** `dpemu walk`: returns the exit code. Bad references are WalkError (exit 2). */
export async function walkCommand(cluster: Cluster, o: WalkOptions, io: Io): Promise<number> {
  const s = sender(cluster, new DeviceTable(cluster).all, o.from, io);
  const t = target(cluster, o.to, o.proto, io);
  const sport = o.sport ?? 40000;
  const bad = connectionsProblem(o.connections);
  if (bad !== undefined) throw new WalkError('BAD_WALK', bad);
  const connections = o.connections ?? 1;
  if (connections > 1 && o.reply) throw new WalkError('BAD_WALK', '--reply walks the answer of one connection: give --connections or --reply, not both');
  if (sport + connections - 1 > 65535) throw new WalkError('BAD_WALK', `--connections ${connections} from --sport ${sport} runs past port 65535`);
  const from = s.kind === 'pod' ? `pod ${s.pod.namespace}/${s.pod.name}` : `node ${s.node.name}`;
  // A pod's frame enters at its eth0 (the pcapng interface is named like the device); a node's raw IPv4
  // frame is attached by its source address, to the node's own stack (OUTPUT, POSTROUTING).
  const sent: Sent[] = Array.from({ length: connections }, (_, k) => ({
    frame: frameFrom(s, t, sport + k, false),
    linkType: s.kind === 'pod' ? LINKTYPE_ETHERNET : LINKTYPE_RAW,
    ...(s.kind === 'pod' ? { iface: s.device.label } : {}),
    tsNsec: k * 1_000_000,
    comment: `dpemu walk: ${from} -> ${t.what} ${t.proto.toUpperCase()}${connections > 1 ? ` (connection ${k + 1} of ${connections})` : ''}`,
  }));
  const dir = mkdtempSync(join(tmpdir(), 'dpemu-walk-'));
  const file = o.save ?? join(dir, 'walk.pcapng');
  try {
    if (o.reply) {
      const probe = join(dir, 'request.pcapng');
      await writeCapture(probe, sent);
      const r = await answer(cluster, probe, t, o);
      if (r) sent.push({ frame: r.frame, linkType: LINKTYPE_ETHERNET, iface: r.device.label, tsNsec: 1_000_000, comment: `dpemu walk: the reply of ${r.device.pod!.namespace}/${r.device.pod!.name}` });
      else io.err(`dpemu walk: no pod received the ${t.proto.toUpperCase()} packet, so there is no reply to walk\n`);
    }
    await writeCapture(file, sent);
    const code = await replayCommand(file, cluster, { ...o, trace: !o.brief }, io);
    if (o.save !== undefined) io.err(`saved the frames sent in ${o.save} (dpemu replay ${o.save} walks them again)\n`);
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
