/**
 * The xt_recent tables of one node (/proc/net/xt_recent/<name>): name -> source address -> last time
 * seen, in seconds of replay time. Keeping only the newest stamp is enough for the forms kube-proxy
 * uses: `--rcheck --seconds T --reap` matches when any stamp is at most T seconds old, and the newest
 * stamp decides that; `--set` adds a stamp now.
 */
export class RecentTable {
  private readonly lists = new Map<string, Map<number, number>>();

  /** `--set`: remember `src32` in list `name` at time `now` (seconds). */
  set(name: string, src32: number, now: number): void {
    let l = this.lists.get(name);
    if (!l) this.lists.set(name, (l = new Map()));
    l.set(src32 >>> 0, now);
  }

  /** `--rcheck [--seconds T] [--reap]`: seen within T seconds (any time without T); reap drops a stale entry. */
  rcheck(name: string, src32: number, now: number, seconds: number | undefined, reap: boolean): boolean {
    const l = this.lists.get(name);
    if (!l) return false;
    const seen = l.get(src32 >>> 0);
    if (seen === undefined) return false;
    if (seconds === undefined) return true;
    // The kernel skips stamps for which time_after(now - T, stamp): a stamp exactly T old still matches.
    const hit = seen >= now - seconds;
    if (!hit && reap) l.delete(src32 >>> 0);
    return hit;
  }

  /** Last time `src32` was set in `name`, for traces and tests. */
  lastSeen(name: string, src32: number): number | undefined {
    return this.lists.get(name)?.get(src32 >>> 0);
  }

  clear(): void {
    this.lists.clear();
  }
}
