import { ipv4ToString } from '../packet/format.js';

/** How a route hands a packet on (the `ip route` forms the modeled CNIs install). */
export const RouteKind = {
  /** An address of this node: deliver locally. */
  LOCAL: 0,
  /** On-link through a device: the next hop is the destination itself. */
  LINK: 1,
  /** Through a gateway on a device (`via X dev D [onlink]`). */
  VIA: 2,
} as const;

export interface Route {
  readonly prefix: number;
  readonly len: number;
  readonly kind: number;
  readonly dev: number;
  readonly via: number;
  /** As `ip route` prints it, for traces. */
  readonly text: string;
}

/**
 * Longest-prefix match over IPv4 routes: one hash map per prefix length, probed from /32 down.
 * A node has tens of routes, so 33 probes at most; the eBPF LPM trie map replaces this later.
 */
export class RouteTable {
  private readonly byLen: Map<number, number>[] = Array.from({ length: 33 }, () => new Map());
  private readonly lens: number[] = [];
  readonly routes: Route[] = [];

  add(route: Omit<Route, 'prefix'> & { prefix: number }): void {
    const mask = maskOf(route.len);
    const prefix = (route.prefix & mask) >>> 0;
    const r = { ...route, prefix };
    const idx = this.routes.length;
    this.routes.push(r);
    if (!this.byLen[route.len].has(prefix)) this.byLen[route.len].set(prefix, idx);
    if (!this.lens.includes(route.len)) {
      this.lens.push(route.len);
      this.lens.sort((a, b) => b - a);
    }
  }

  /** Index of the best route for `dst`, or -1. */
  lookup(dst: number): number {
    for (let i = 0; i < this.lens.length; i++) {
      const len = this.lens[i];
      const hit = this.byLen[len].get((dst & maskOf(len)) >>> 0);
      if (hit !== undefined) return hit;
    }
    return -1;
  }
}

export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function routeText(prefix: number, len: number, rest: string): string {
  return `${len === 0 ? 'default' : `${ipv4ToString(prefix)}/${len}`} ${rest}`;
}
