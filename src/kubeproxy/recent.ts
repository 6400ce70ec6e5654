/** xt_recent's `ip_list_tot` module parameter (default 100): addresses one list remembers. */
export const RECENT_LIST_MAX = 100;

/** One list: address -> newest stamp, in LRU order, with its head cached so a --reap check allocates nothing. */
class RecentList {
  readonly stamps = new Map<number, number>();
  private head = -1;

  /** The least recently set address (-1 when empty); found again by iterating only after the head moved. */
  headKey(): number {
    if (this.head < 0 && this.stamps.size > 0) this.head = this.stamps.keys().next().value as number;
    return this.head;
  }

  /** Removes `key` (false when absent); the cached head is found again when it was that key. */
  remove(key: number): boolean {
    if (key === this.head) this.head = -1;
    return this.stamps.delete(key);
  }
}

/**
 * The xt_recent tables of one node (/proc/net/xt_recent/<name>): name -> source address -> last time
 * seen, in seconds of replay time. Keeping only the newest stamp is enough for the forms kube-proxy
 * uses: `--rcheck --seconds T --reap` matches when any stamp is at most T seconds old, and the newest
 * stamp decides that; `--set` adds a stamp now.
 *
 * Each list is in the kernel's LRU order (a Map's insertion order: `--set` moves an address to the end),
 * because both removals in xt_recent.c take the list's head: a `--set` of a new address when the list
 * holds `ip_list_tot` evicts it (`recent_entry_init`), and `--reap` removes it when its newest stamp is
 * older than T (`recent_entry_reap`), whichever address the packet had.
 */
export class RecentTable {
  private readonly lists = new Map<string, RecentList>();
  /** Addresses evicted from a full list by a `--set` (the kernel drops them without a counter). */
  evicted = 0;
  /** Stale list heads removed by `--reap`. */
  reaped = 0;

  constructor(private readonly maxEntries: number = RECENT_LIST_MAX) {}

  /** `--set`: remember `src32` in list `name` at time `now` (seconds). */
  set(name: string, src32: number, now: number): void {
    let l = this.lists.get(name);
    if (!l) this.lists.set(name, (l = new RecentList()));
    const key = src32 >>> 0;
    if (!l.remove(key) && l.stamps.size >= this.maxEntries) {
      l.remove(l.headKey());
      this.evicted++;
    }
    l.stamps.set(key, now);
  }

  /** `--rcheck [--seconds T] [--reap]`: seen within T seconds (any time without T); reap drops a stale list head. */
  rcheck(name: string, src32: number, now: number, seconds: number | undefined, reap: boolean): boolean {
    const l = this.lists.get(name);
    if (!l) return false;
    const seen = l.stamps.get(src32 >>> 0);
    if (seen === undefined) return false;
    if (seconds === undefined) return true;
    // The kernel skips stamps for which time_after(now - T, stamp): a stamp exactly T old still matches.
    const hit = seen >= now - seconds;
    if (reap) {
      // rcheck never updates, so the head is reaped even when it is this packet's address.
      const head = l.headKey();
      if (l.stamps.get(head)! < now - seconds) {
        l.remove(head);
        this.reaped++;
      }
    }
    return hit;
  }

  /** Last time `src32` was set in `name`, for traces and tests. */
  lastSeen(name: string, src32: number): number | undefined {
    return this.lists.get(name)?.stamps.get(src32 >>> 0);
  }

  /** The addresses of list `name`, least recently set first (the kernel's LRU order). */
  addresses(name: string): number[] {
    return [...(this.lists.get(name)?.stamps.keys() ?? [])];
  }

  clear(): void {
    this.lists.clear();
  }
}
