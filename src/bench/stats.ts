/** Order statistics for bench samples (pure; no timing here). */

/** Nearest-rank quantile of `values` (need not be sorted), q in [0, 1]; NaN for no values. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1];
}

export function mean(values: ArrayLike<number>): number {
  let t = 0;
  for (let i = 0; i < values.length; i++) t += values[i];
  return values.length === 0 ? NaN : t / values.length;
}

/** Growable Float64 sample buffer: pushes allocate only when the capacity doubles. */
export class Samples {
  private buf: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buf = new Float64Array(capacity);
  }

  push(v: number): void {
    if (this.length === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.length++] = v;
  }

  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

/** ns(largest n) / ns(smallest n) and n(largest) / n(smallest) of a scaling series. */
export function scalingRatio(points: readonly { n: number; ns: number }[]): { ratio: number; nRatio: number } {
  if (points.length < 2) return { ratio: NaN, nRatio: NaN };
  const sorted = [...points].sort((a, b) => a.n - b.n);
  const lo = sorted[0];
  const hi = sorted[sorted.length - 1];
  return { ratio: hi.ns / lo.ns, nRatio: hi.n / lo.n };
}
