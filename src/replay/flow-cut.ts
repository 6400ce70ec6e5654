import type { Cluster } from '../scenario/model.js';

/**
 * Causal order across a vector. Stages run a whole vector before the next stage does, so a
 * response in the same vector as its request could reach a stage first (a SYN-ACK at the
 * server's node before the SYN got there). A response cannot leave before its request arrived,
 * so the replay cuts a vector before a frame that answers one already in it: its source endpoint
 * is some frame's destination, or its destination some frame's source (`conflicts`).
 *
 * NAT hides the relation (the reply comes from the backend, the request went to the VIP), so an
 * endpoint that backs a Service also stands for the Service's frontends (ClusterIP:port, every
 * node's NodePort, LoadBalancer IPs). Endpoints are (IPv4, port), port 0 for non-TCP/UDP and
 * fragments; a frame that is not IPv4 conflicts with any other such frame.
 *
 * The replay uses this only when batching frames (`batching: 'answers'`): by default each frame
 * runs to completion alone, as the kernel runs each packet (replay.ts).
 */
export class FlowCut {
  private readonly srcStamp: Uint32Array;
  private readonly dstStamp: Uint32Array;
  private readonly mask: number;
  private readonly aliases = new Map<number, number[]>();
  private readonly tunnelPort: number;
  private gen = 1;

  constructor(cluster?: Cluster, bits = 12) {
    this.srcStamp = new Uint32Array(1 << bits);
    this.dstStamp = new Uint32Array(1 << bits);
    this.mask = (1 << bits) - 1;
    this.tunnelPort = cluster?.tunnel.port ?? -1;
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
      this.gen = 1;
    }
  }

  /**
   * True when the frame answers one already in the vector (the caller flushes, resets and calls
   * again); otherwise records the frame's endpoints and returns false.
   */
  conflicts(b: Uint8Array, off: number, len: number): boolean {
    const t = tuple(b, off, len);
    // A tunnel packet (a frame taken on the underlay) also answers by the flow it carries.
    const inner = t !== null && t.ports && t.proto === 17 && t.dport === this.tunnelPort && t.l4 + 16 < off + len ? tuple(b, t.l4 + 16, off + len - t.l4 - 16) : null;
    if (this.answers(t) || (inner !== null && this.answers(inner))) return true;
    this.record(t);
    if (inner !== null) this.record(inner);
    return false;
  }

  private answers(t: Tuple | null): boolean {
    const src = t === null ? 0 : key(t.src, t.sport);
    const dst = t === null ? 0 : key(t.dst, t.dport);
    // Port-less packets (ICMP, fragments) of a host relate to every flow of that host.
    if (t !== null && !t.ports && (this.hitAny(this.dstStamp, t.src) || this.hitAny(this.srcStamp, t.dst))) return true;
    return this.hit(this.dstStamp, src) || this.hit(this.srcStamp, dst);
  }

  private record(t: Tuple | null): void {
    this.mark(this.srcStamp, t === null ? 0 : key(t.src, t.sport));
    this.mark(this.dstStamp, t === null ? 0 : key(t.dst, t.dport));
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

interface Tuple { proto: number; src: number; dst: number; sport: number; dport: number; ports: boolean; l4: number }

/** The IPv4 5-tuple of an Ethernet frame; ports 0 (ports false) for non-TCP/UDP and fragments; null if not IPv4. */
function tuple(b: Uint8Array, off: number, len: number): Tuple | null {
  if (len < 34 || b[off + 12] !== 0x08 || b[off + 13] !== 0x00) return null;
  const ip = off + 14;
  const src = ((b[ip + 12]! << 24) | (b[ip + 13]! << 16) | (b[ip + 14]! << 8) | b[ip + 15]!) >>> 0;
  const dst = ((b[ip + 16]! << 24) | (b[ip + 17]! << 16) | (b[ip + 18]! << 8) | b[ip + 19]!) >>> 0;
  const proto = b[ip + 9]!;
  const l4 = ip + (b[ip]! & 0x0f) * 4;
  const whole = (((b[ip + 6]! << 8) | b[ip + 7]!) & 0x3fff) === 0;
  const ports = whole && (proto === 6 || proto === 17) && l4 + 4 <= off + len;
  return {
    proto, src, dst, l4, ports,
    sport: ports ? (b[l4]! << 8) | b[l4 + 1]! : 0,
    dport: ports ? (b[l4 + 2]! << 8) | b[l4 + 3]! : 0,
  };
}

function key(ip32: number, port: number): number {
  return (ip32 >>> 0) * 65536 + port;
}

function ipv4(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
