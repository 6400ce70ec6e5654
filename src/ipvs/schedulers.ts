/**
 * IPVS schedulers, transcribed from net/netfilter/ipvs/ip_vs_<name>.c. Each works on IpvsService.dests in
 * the kernel's list order and returns a dest index, or -1 where the kernel returns NULL.
 * No allocation in schedule(): state lives in fields and typed arrays built when the dests change.
 */
import { hsiphashU32 } from './hsiphash.js';
import type { IpvsService, RealServer } from './real-server.js';

export const SCHEDULER_NAMES = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq', 'mh'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export interface Scheduler {
  readonly name: SchedulerName;
  /** add_dest / del_dest / upd_dest: rebuild tables from svc.dests. */
  destsChanged(svc: IpvsService): void;
  schedule(svc: IpvsService, saddr: number, sport: number, daddr: number): number;
}

const usable = (d: RealServer): boolean => !d.overloaded && d.weight > 0;
/** ip_vs_dest_conn_overhead(): activeconns << 8 + inactconns. */
export const connOverhead = (d: RealServer): number => d.activeConns * 256 + d.inactConns;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** ip_vs_rr.c: a cursor into the list (-1 = the list head); the first usable dest after it, wrapping once. */
class RoundRobin implements Scheduler {
  readonly name = 'rr' as const;
  cursor = -1;
  destsChanged(svc: IpvsService): void {
    if (this.cursor >= svc.dests.length) this.cursor = -1;
  }
  schedule(svc: IpvsService): number {
    const n = svc.dests.length;
    const last = this.cursor;
    // entries after `last` to the end, then (second pass, unless we started at the head) from the start to `last` inclusive
    for (let i = last + 1; i < n; i++) if (usable(svc.dests[i])) return (this.cursor = i);
    if (last !== -1) for (let i = 0; i <= last; i++) if (usable(svc.dests[i])) return (this.cursor = i);
    return -1;
  }
}

/** ip_vs_wrr.c: cw steps down from mw by di (gcd of weights); mw is max weight - (di - 1). */
class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr' as const;
  cl = -1;
  cw = 0;
  mw = 0;
  di = 1;
  destsChanged(svc: IpvsService): void {
    let g = 0;
    let max = 0;
    for (const d of svc.dests) {
      if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
      if (d.weight > max) max = d.weight;
    }
    this.cl = -1;
    this.di = g || 1;
    this.mw = max - (this.di - 1);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }
  schedule(svc: IpvsService): number {
    const ds = svc.dests;
    const n = ds.length;
    let d = this.cl;
    if (this.mw === 0) return -1;
    const last = d;
    let stop = -2;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (d = d + 1; d < n; d++) {
        if (!ds[d].overloaded && ds[d].weight >= this.cw) {
          this.cl = d;
          return d;
        }
        if (d === stop) {
          this.cl = d;
          return -1;
        }
      }
      d = -1; // back at the list head
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === -1) {
          this.cl = d;
          return -1;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}

/** ip_vs_lc.c: smallest overhead, first wins ties; weight 0 and overloaded skipped. */
class LeastConnection implements Scheduler {
  readonly name = 'lc' as const;
  destsChanged(): void {}
  schedule(svc: IpvsService): number {
    let least = -1;
    let loh = 0;
    for (let i = 0; i < svc.dests.length; i++) {
      const d = svc.dests[i];
      if (d.overloaded || d.weight === 0) continue;
      const doh = connOverhead(d);
      if (least < 0 || doh < loh) {
        least = i;
        loh = doh;
      }
    }
    return least;
  }
}

/**
 * ip_vs_wlc.c / ip_vs_sed.c: the first usable dest, then any later dest with loh * w(dest) > doh * w(least).
 * wlc overhead = connOverhead, sed overhead = activeconns + 1.
 */
class WeightedLeast implements Scheduler {
  constructor(readonly name: 'wlc' | 'sed') {}
  destsChanged(): void {}
  private overhead(d: RealServer): number {
    return this.name === 'wlc' ? connOverhead(d) : d.activeConns + 1;
  }
  schedule(svc: IpvsService): number {
    const ds = svc.dests;
    let least = -1;
    let i = 0;
    for (; i < ds.length; i++) {
      if (!ds[i].overloaded && ds[i].weight > 0) {
        least = i;
        break;
      }
    }
    if (least < 0) return -1;
    let loh = this.overhead(ds[least]);
    for (i = least + 1; i < ds.length; i++) {
      const d = ds[i];
      if (d.overloaded) continue;
      const doh = this.overhead(d);
      if (loh * d.weight > doh * ds[least].weight) {
        least = i;
        loh = doh;
      }
    }
    return least;
  }
}

/** ip_vs_nq.c: an idle dest (activeconns == 0) wins at once; otherwise as sed. */
class NeverQueue implements Scheduler {
  readonly name = 'nq' as const;
  destsChanged(): void {}
  schedule(svc: IpvsService): number {
    let least = -1;
    let loh = 0;
    for (let i = 0; i < svc.dests.length; i++) {
      const d = svc.dests[i];
      if (d.overloaded || d.weight === 0) continue;
      const doh = d.activeConns + 1;
      if (d.activeConns === 0) return i;
      if (least < 0 || loh * d.weight > doh * svc.dests[least].weight) {
        least = i;
        loh = doh;
      }
    }
    return least;
  }
}

export const SH_TAB_BITS = 8;
export const SH_TAB_SIZE = 1 << SH_TAB_BITS;
/** hash_32(val, bits) of include/linux/hash.h: val * GOLDEN_RATIO_32 >> (32 - bits). */
export const hash32 = (val: number, bits: number): number => Math.imul(val, 0x61c88647) >>> (32 - bits);
/** ip_vs_sh_hashkey(): (offset + hash_32(port + addr, 8)) & 255 (port only with the sh-port flag). */
export const shHashKey = (addr: number, port: number, offset: number): number =>
  (offset + hash32((port + addr) >>> 0, SH_TAB_BITS)) & (SH_TAB_SIZE - 1);

/** ip_vs_sh.c: 256 buckets filled in list order, each dest taking `weight` consecutive buckets. */
class SourceHash implements Scheduler {
  readonly name = 'sh' as const;
  readonly buckets = new Int32Array(SH_TAB_SIZE).fill(-1);
  destsChanged(svc: IpvsService): void {
    const n = svc.dests.length;
    let p = 0;
    let count = 0;
    for (let i = 0; i < SH_TAB_SIZE; i++) {
      if (n === 0) {
        this.buckets[i] = -1;
        continue;
      }
      this.buckets[i] = p;
      if (++count >= svc.dests[p].weight) {
        p = (p + 1) % n;
        count = 0;
      }
    }
  }
  schedule(svc: IpvsService, saddr: number, sport: number): number {
    const port = svc.schedPort ? sport : 0;
    const ihash = shHashKey(saddr, port, 0);
    const i = this.buckets[ihash];
    if (i < 0) return -1;
    if (usable(svc.dests[i])) return i;
    if (!svc.schedFallback) return -1;
    // ip_vs_sh_get_fallback: roffset = (offset + ihash) % 256, rehashed with that offset
    for (let off = 0; off < SH_TAB_SIZE; off++) {
      const j = this.buckets[shHashKey(saddr, port, (off + ihash) % SH_TAB_SIZE)];
      if (j >= 0 && usable(svc.dests[j])) return j;
    }
    return -1;
  }
}

export const DH_TAB_SIZE = 256;
/** ip_vs_dh_hashkey(): (addr * 2654435761) & 255. */
export const dhHashKey = (addr: number): number => Math.imul(addr, 2654435761 | 0) & (DH_TAB_SIZE - 1);

/** ip_vs_dh.c: 256 buckets assigned round-robin over the list (weights ignored), keyed on the destination address. */
class DestinationHash implements Scheduler {
  readonly name = 'dh' as const;
  readonly buckets = new Int32Array(DH_TAB_SIZE).fill(-1);
  destsChanged(svc: IpvsService): void {
    const n = svc.dests.length;
    for (let i = 0; i < DH_TAB_SIZE; i++) this.buckets[i] = n === 0 ? -1 : i % n;
  }
  schedule(svc: IpvsService, _saddr: number, _sport: number, daddr: number): number {
    const i = this.buckets[dhHashKey(daddr)];
    return i >= 0 && usable(svc.dests[i]) ? i : -1;
  }
}

/** ip_vs_mh.c with CONFIG_IP_VS_MH_TAB_INDEX = 12: primes[12 - 8] = 4093 entries, IP_VS_MH_TAB_BITS = 6. */
export const MH_TAB_SIZE = 4093;
const MH_TAB_BITS = 6;
// generate_hash_secret(): hash1 = {2654435761, 2654435761}, hash2 = {2654446892, 2654446892} (64-bit longs).
const H1 = 2654435761;
const H2 = 2654446892;
/** ip_vs_mh_hashkey(): hsiphash(offset + port + addr) with key 1 or 2. */
export const mhHash = (addr: number, port: number, offset: number, key2: boolean): number => {
  const k = key2 ? H2 : H1;
  return hsiphashU32((offset + port + addr) >>> 0, 0, k, 0, k);
};

class MaglevHash implements Scheduler {
  readonly name = 'mh' as const;
  readonly lookup = new Int32Array(MH_TAB_SIZE).fill(-1);
  destsChanged(svc: IpvsService): void {
    const ds = svc.dests;
    let g = 0;
    let max = 0;
    for (const d of ds) {
      if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
      if (d.weight > max) max = d.weight;
    }
    if (g < 1) {
      this.lookup.fill(-1);
      return;
    }
    const shift = Math.max(0, 32 - Math.clz32(Math.trunc(max / g)) - MH_TAB_BITS);
    const n = ds.length;
    const perm = new Uint32Array(n);
    const skip = new Uint32Array(n);
    const turns = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      perm[i] = mhHash(ds[i].ip32, ds[i].port, 0, false) % MH_TAB_SIZE;
      skip[i] = (mhHash(ds[i].ip32, ds[i].port, 0, true) % (MH_TAB_SIZE - 1)) + 1;
      const lw = ds[i].weight; // last_weight: the weight before the latest change; dpemu has no weight history
      turns[i] = Math.trunc(lw / g) >> shift || (lw !== 0 ? 1 : 0);
    }
    const taken = new Uint8Array(MH_TAB_SIZE);
    let filled = 0;
    let dtCount = 0;
    while (filled < MH_TAB_SIZE) {
      for (let i = 0; i < n; ) {
        if (turns[i] < 1) {
          i++;
          continue;
        }
        let c = perm[i];
        while (taken[c]) {
          perm[i] += skip[i];
          if (perm[i] >= MH_TAB_SIZE) perm[i] -= MH_TAB_SIZE;
          c = perm[i];
        }
        taken[c] = 1;
        this.lookup[c] = i;
        if (++filled === MH_TAB_SIZE) return;
        if (++dtCount >= turns[i]) {
          dtCount = 0;
          i++;
        }
      }
    }
  }
  schedule(svc: IpvsService, saddr: number, sport: number): number {
    const port = svc.schedPort ? sport : 0;
    const ihash = mhHash(saddr, port, 0, false) % MH_TAB_SIZE;
    const i = this.lookup[ihash];
    if (i < 0) return -1;
    if (usable(svc.dests[i])) return i;
    if (!svc.schedFallback) return -1;
    for (let off = 0; off < MH_TAB_SIZE; off++) {
      const roff = (off + ihash) % MH_TAB_SIZE;
      const j = this.lookup[mhHash(saddr, port, roff, false) % MH_TAB_SIZE];
      if (j < 0) break;
      if (usable(svc.dests[j])) return j;
    }
    return -1;
  }
}

export function makeScheduler(name: SchedulerName): Scheduler {
  switch (name) {
    case 'rr': return new RoundRobin();
    case 'wrr': return new WeightedRoundRobin();
    case 'lc': return new LeastConnection();
    case 'wlc': return new WeightedLeast('wlc');
    case 'sed': return new WeightedLeast('sed');
    case 'nq': return new NeverQueue();
    case 'sh': return new SourceHash();
    case 'dh': return new DestinationHash();
    case 'mh': return new MaglevHash();
  }
}
