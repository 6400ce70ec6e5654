// Conntrack table cost at 1,000 and 1,000,000 entries: lookup hit (track() of an existing
// flow's packet), lookup miss, insert (create + confirm), and memory per entry.
//   npx vite-node bench/conntrack.ts
import { ConntrackTable } from '../src/conntrack/table.js';
import { KERNEL_CT_TIMEOUTS } from '../src/scenario/index.js';
import { measure, table } from './lib/timing.js';

const OPS = 200_000;
const rows: (string | number)[][] = [];
for (const n of [1_000, 1_000_000]) {
  const ct = new ConntrackTable(n + OPS * 4, KERNEL_CT_TIMEOUTS, { seed: 1 });
  const src = (i: number): number => (0x0af40000 + (i >>> 16)) >>> 0;
  for (let i = 0; i < n; i++) {
    const e = ct.create(6, 0, src(i), 0x0a600514, 1024 + (i & 0xffff) % 60000, 80, 0);
    ct.confirm(e, 0);
  }
  let k = 0;
  const hit = measure(OPS, 5, () => {
    for (let i = 0; i < OPS; i++) {
      const j = (k++ * 7919) % n;
      ct.lookup(6, 0, src(j), 0x0a600514, 1024 + (j & 0xffff) % 60000, 80, 1);
    }
  });
  const miss = measure(OPS, 5, () => {
    for (let i = 0; i < OPS; i++) ct.lookup(6, 0, 0x0b000000 + i, 0x0a600514, 5555, 80, 1);
  });
  let next = 0;
  const insert = measure(OPS, 3, () => {
    for (let i = 0; i < OPS; i++) {
      const e = ct.create(17, 0, 0x0c000000 + next, 0x0a600514, 7000 + (next & 0x3ff), 53, 1);
      next++;
      if (e >= 0) ct.confirm(e, 1);
    }
  });
  rows.push([n.toLocaleString('en-US'), hit.medianNs.toFixed(1), miss.medianNs.toFixed(1), insert.medianNs.toFixed(1), ct.bytesPerEntry().toFixed(1)]);
}
console.log(table(['entries', 'lookup hit ns', 'lookup miss ns', 'insert ns', 'bytes/entry'], rows));
console.log('\ntarget: <= 256 bytes per entry; lookups O(1): the 1M row should be within a small factor of the 1k row (cache misses).');
