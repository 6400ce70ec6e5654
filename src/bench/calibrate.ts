/**
 * Calibration loop: a fixed amount of typed-array and integer work, shaped like the stages' inner loops
 * (index a Uint8Array/Uint32Array, mix with imul/xor), timed in the same process as the suite. --compare
 * divides every figure by it, so a machine (or a moment) that is 30% slower overall does not read as a
 * regression.
 */
const SIZE = 1 << 16;
const ITER = 2_000_000;

let sink = 0;

function loop(table: Uint32Array, bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  let j = 0;
  for (let i = 0; i < ITER; i++) {
    j = (j + bytes[i & (SIZE - 1)] + 1) & (SIZE - 1);
    h = Math.imul(h ^ table[j], 0x01000193) >>> 0;
    table[j] = h;
  }
  return h;
}

/** ns per iteration: median of 7 timed runs after 3 warm-up runs. */
export function calibrate(): number {
  const table = new Uint32Array(SIZE);
  const bytes = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) {
    table[i] = Math.imul(i, 2654435761) >>> 0;
    bytes[i] = (i * 131) & 0xff;
  }
  for (let w = 0; w < 3; w++) sink ^= loop(table, bytes);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    sink ^= loop(table, bytes);
    runs.push(Number(process.hrtime.bigint() - t0) / ITER);
  }
  runs.sort((a, b) => a - b);
  return runs[3] + (sink & 0) * 0;
}
