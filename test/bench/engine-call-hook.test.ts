import { describe, expect, it } from 'vitest';
import { defineStage, Engine, PacketPool } from '../../src/engine/index.js';

// The per-call sample hook the bench suite uses for p50/p99 across vectors.
function build(): { engine: Engine<object>; pool: PacketPool } {
  const pool = new PacketPool(64);
  const stages = [
    defineStage<object>({ name: 'a', next: ['b'], process(rt, slots, n) { for (let i = 0; i < n; i++) rt.next(slots[i], 0); } }),
    defineStage<object>({ name: 'b', next: [], process(rt, slots, n) { for (let i = 0; i < n; i++) rt.done(slots[i], 1); } }),
  ];
  const engine = new Engine<object>({ stages, nodes: [{ name: 'n0', ctx: {} }], pool, vectorSize: 4 });
  return { engine, pool };
}

function inject(engine: Engine<object>, pool: PacketPool, count: number): void {
  for (let i = 0; i < count; i++) {
    const s = pool.load(new Uint8Array(60), 0, 60, 60, 1, 0);
    engine.enqueue(s, 'a', 0);
  }
}

describe('Engine.onCall', () => {
  it('reports every call with its stage, node, vector size and the ns the counters add up', () => {
    const { engine, pool } = build();
    const seen: { stage: string; node: string; packets: number; ns: number }[] = [];
    engine.onCall = (rt, packets, ns) => seen.push({ stage: rt.stage, node: rt.nodeName, packets, ns });
    inject(engine, pool, 10);
    engine.run();
    const rows = engine.runtimeRows();
    for (const name of ['a', 'b']) {
      const calls = seen.filter((s) => s.stage === name);
      const row = rows.find((r) => r.stage === name)!;
      expect(calls.length).toBe(row.calls);
      expect(calls.map((c) => c.packets)).toEqual([4, 4, 2]);
      expect(calls.reduce((t, c) => t + c.ns, 0)).toBeCloseTo(row.ns, 3);
      expect(calls.every((c) => c.node === 'n0' && c.ns >= 0)).toBe(true);
    }
  });

  it('is off by default and can be removed', () => {
    const { engine, pool } = build();
    expect(engine.onCall).toBeNull();
    let n = 0;
    engine.onCall = () => n++;
    inject(engine, pool, 4);
    engine.run();
    expect(n).toBe(2);
    engine.onCall = null;
    inject(engine, pool, 4);
    engine.run();
    expect(n).toBe(2);
  });
});
