import type { Cluster } from '../scenario/model.js';

/**
 * Causal order across a vector. Stages run a whole vector before the next stage does, so a
 * response in the same vector as its request could reach a stage first (a SYN-ACK at the
 * server's node before the SYN got there). A response cannot leave before its request arrived,
 * so the replay cuts a vector before a frame that answers one already in it: its source endpoint
 * is some frame's destination, or its destination some frame's source.
 *
 * Packets of one direction of one flow stay batched only while the flow is established: each stage
 * handles them in order, and conntrack updates its confirmed entry packet by packet. A flow no node
 * has a confirmed entry for is cut after its first packet: that packet's entry is only confirmed at
 * POSTROUTING/INPUT, so a second packet in the same vector would meet it unconfirmed at PREROUTING,
 * still NEW, and conntrack would take it as opening the connection (a FIN after a mid-stream pickup
 * fits no state: INVALID), where the kernel, running each packet to completion, finds it confirmed.
 *
 * NAT hides the relation (the reply comes from the backend, the request went to the VIP), so an
 * endpoint that backs a Service also stands for the Service's frontends (ClusterIP:port, every
 * node's NodePort, LoadBalancer IPs). Endpoints are (IPv4, port), port 0 for non-TCP/UDP and
 * fragments; a frame that is not IPv4 conflicts with any other such frame.
 */
/** Is (proto, src, dst, sport, dport) held by a confirmed conntrack entry alive at `now` (any node)? */
export type EstablishedCheck = (proto: number, src: number, dst: number, sport: number, dport: number, now: number) => boolean;

export class FlowCut {
  private readonly srcStamp: Uint32Array;
  private readonly dstStamp: Uint32Array;
  /** Flows (proto and both endpoints) in the vector; a hash collision only cuts early. */
  private readonly flowStamp: Uint32Array;
  private readonly mask: number;
  private readonly aliases = new Map<number, number[]>();
  private gen = 1;

  /** Without `established`, every repeated flow cuts the vector. */
  constructor(cluster?: Cluster, bits = 12, private readonly established?: EstablishedCheck) {
    this.srcStamp = new Uint32Array(1 << bits);
    this.dstStamp = new Uint32Array(1 << bits);
    this.flowStamp = new Uint32Array(1 << bits);
    this.mask = (1 << bits) - 1;
    if (cluster) this.learnServices(cluster);
  }

  private learnServices(c: Cluster): void {
    for (const svc of c.services) {
      for (const port of svc.ports) {
        const fronts: number[] = [];
        if (svc.clusterIp32 !== null) fronts.push(key(svc.clusterIp32, port.port));
        if (port.nodePort) for (const n of c.nodes) fronts.push(key(n.ip32, port.nodePort));
        for (const ip of svc.loadBalancerIps) fronts.push(key(ipv4(ip), port.port));
        for (const eps of c.endpointSlices) {
          if (eps.namespace !== svc.namespace || eps.service !== svc.name) continue;
          const ep = eps.ports.find((p) => p.name === port.name) ?? (eps.ports.length === 1 ? eps.ports[0] : undefined);
          if (!ep) continue;
          for (const a of eps.endpoints) {
            const k = key(a.ip32, ep.port);
            const list = this.aliases.get(k) ?? [];
            for (const f of fronts) if (!list.includes(f)) list.push(f);
            this.aliases.set(k, list);
          }
        }
      }
    }
  }

  /** Starts a new vector. */
  reset(): void {
    this.gen++;
    if (this.gen === 0xffffffff) {
      this.srcStamp.fill(0);
      this.dstStamp.fill(0);
      this.flowStamp.fill(0);
      this.gen = 1;
    }
  }

  /**
   * True when the frame answers one already in the vector, or repeats a flow that is not
   * established (the caller flushes, resets and calls again); otherwise records the frame and
   * returns false. `now`: the frame's time, for the established check.
   */
  conflicts(b: Uint8Array, off: number, len: number, now = 0): boolean {
    let src = 0;
    let dst = 0;
    let proto = -1;
    let ports = false;
    if (len >= 34 && b[off + 12] === 0x08 && b[off + 13] === 0x00) {
      const ip = off + 14;
      const s32 = ((b[ip + 12] << 24) | (b[ip + 13] << 16) | (b[ip + 14] << 8) | b[ip + 15]) >>> 0;
      const d32 = ((b[ip + 16] << 24) | (b[ip + 17] << 16) | (b[ip + 18] << 8) | b[ip + 19]) >>> 0;
      proto = b[ip + 9];
      const l4 = ip + (b[ip] & 0x0f) * 4;
      const whole = (((b[ip + 6] << 8) | b[ip + 7]) & 0x3fff) === 0;
      ports = whole && (proto === 6 || proto === 17) && l4 + 4 <= off + len;
      src = key(s32, ports ? (b[l4] << 8) | b[l4 + 1] : 0);
      dst = key(d32, ports ? (b[l4 + 2] << 8) | b[l4 + 3] : 0);
      // Port-less packets (ICMP, fragments) of a host relate to every flow of that host.
      if (!ports) {
        if (this.hitAny(this.dstStamp, s32) || this.hitAny(this.srcStamp, d32)) return true;
      }
    }
    if (this.hit(this.dstStamp, src) || this.hit(this.srcStamp, dst)) return true;
    const flow = this.flowSlot(proto, src, dst);
    if (this.flowStamp[flow] === this.gen) {
      // Ports are known only for whole TCP/UDP packets: anything else repeats conservatively.
      const held = ports && this.established !== undefined &&
        this.established(proto, Math.floor(src / 65536), Math.floor(dst / 65536), src % 65536, dst % 65536, now);
      if (!held) return true;
    }
    this.flowStamp[flow] = this.gen;
    this.mark(this.srcStamp, src);
    this.mark(this.dstStamp, dst);
    return false;
  }

  private flowSlot(proto: number, src: number, dst: number): number {
    return this.slot(src) ^ this.slot(dst + proto * 0x1000193);
  }

  private slot(k: number): number {
    let h = Math.imul((k % 4294967296) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.floor(k / 4294967296);
    h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
    return (h ^ (h >>> 13)) & this.mask;
  }

  private hit(table: Uint32Array, k: number): boolean {
    if (table[this.slot(k)] === this.gen) return true;
    const al = this.aliases.get(k);
    if (al) for (const a of al) if (table[this.slot(a)] === this.gen) return true;
    return false;
  }

  /** Any endpoint of this address (its port-0 key, recorded for every frame of the host). */
  private hitAny(table: Uint32Array, ip32: number): boolean {
    return table[this.slot(key(ip32, 0))] === this.gen;
  }

  private mark(table: Uint32Array, k: number): void {
    table[this.slot(k)] = this.gen;
    const ip0 = key(Math.floor(k / 65536), 0);
    table[this.slot(ip0)] = this.gen;
    const al = this.aliases.get(k);
    if (al) for (const a of al) table[this.slot(a)] = this.gen;
  }
}

function key(ip32: number, port: number): number {
  return (ip32 >>> 0) * 65536 + port;
}

function ipv4(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
