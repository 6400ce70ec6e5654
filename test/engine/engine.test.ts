import { describe, expect, it } from 'vitest';
import { Drop, DROP_REASONS, dropReasonInfo } from '../../src/engine/drop-reasons.js';
import { Engine, EngineConfigError } from '../../src/engine/engine.js';
import { PacketPool, Verdict } from '../../src/engine/pool.js';
import { defineStage } from '../../src/engine/stage.js';

interface Ctx {
  name: string;
}

/** A toy graph: `in` sends even first bytes to `even`, odd to `odd`; `odd` drops 0xff and forwards to node 1's `in`. */
function toyEngine(pool = new PacketPool(64, 256, 32), tracing = false) {
  const seen: string[] = [];
  const stages = [
    defineStage<Ctx>({
      name: 'in',
      next: ['even', 'odd'],
      process(rt, slots, n, p) {
        for (let i = 0; i < n; i++) {
          const s = slots[i];
          const b = p.bufs[s][p.start[s]];
          seen.push(`${rt.ctx.name}:in:${b}`);
          if (rt.tracing) rt.trace(s, 'toy', b % 2 ? 'odd' : 'even');
          rt.next(s, b % 2);
        }
      },
    }),
    defineStage<Ctx>({
      name: 'even',
      next: [],
      process(rt, slots, n) {
        for (let i = 0; i < n; i++) rt.done(slots[i], Verdict.FORWARDED);
      },
    }),
    defineStage<Ctx>({
      name: 'odd',
      next: ['in'],
      process(rt, slots, n, p) {
        for (let i = 0; i < n; i++) {
          const s = slots[i];
          if (p.bufs[s][p.start[s]] === 0xff) {
            rt.drop(s, Drop.TTL_EXCEEDED);
            continue;
          }
          p.bufs[s][p.start[s]]++; // becomes even
          p.node[s] = 1;
          rt.next(s, 0);
        }
      },
    }),
  ];
  const engine = new Engine<Ctx>({ stages, nodes: [{ name: 'n0', ctx: { name: 'n0' } }, { name: 'n1', ctx: { name: 'n1' } }], pool, vectorSize: 4, tracing });
  return { engine, seen, pool };
}

function load(pool: PacketPool, bytes: number[]): number[] {
  return bytes.map((b, i) => {
    const s = pool.load(Uint8Array.of(b), 0, 1, 1, 100 + i, 0);
    pool.frameNo[s] = i + 1;
    return s;
  });
}

describe('engine', () => {
  it('dispatches vectors, follows next stages across nodes, counts calls, packets and drops', () => {
    const { engine, seen, pool } = toyEngine();
    for (const s of load(pool, [2, 3, 0xff, 4, 6, 8])) engine.enqueue(s, 'in', 0);
    engine.run();
    const rows = engine.runtimeRows();
    const row = (node: string, stage: string) => rows.find((r) => r.node === node && r.stage === stage);
    expect(row('n0', 'in')).toMatchObject({ calls: 2, packets: 6 }); // vectors of 4 + 2
    expect(row('n0', 'even')).toMatchObject({ packets: 4 });
    expect(row('n0', 'odd')).toMatchObject({ packets: 2, drops: [{ code: Drop.TTL_EXCEEDED, count: 1 }] });
    expect(row('n1', 'in')).toMatchObject({ calls: 1, packets: 1 });
    expect(row('n1', 'even')).toMatchObject({ packets: 1 });
    expect(seen).toContain('n1:in:4');
    expect(pool.available).toBe(pool.size); // every slot returned
  });

  it('records traces only when tracing is on', () => {
    const off = toyEngine();
    for (const s of load(off.pool, [1, 2])) off.engine.enqueue(s, 'in', 0);
    off.engine.run();
    expect(off.engine.traces).toHaveLength(0);

    const on = toyEngine(undefined, true);
    for (const s of load(on.pool, [1, 2])) on.engine.enqueue(s, 'in', 0);
    on.engine.run();
    expect(on.engine.traces.map((t) => `${t.frame}@${t.node}:${t.decision}`)).toEqual(['1@n0:odd', '2@n0:even', '1@n1:even']);
  });

  it('rejects a graph whose next stage is not registered, and a stage that forgets a packet', () => {
    expect(() => new Engine({ stages: [defineStage({ name: 'a', next: ['nope'], process() {} })], nodes: [{ name: 'n', ctx: {} }] })).toThrow(EngineConfigError);
    const pool = new PacketPool(8, 64, 16);
    const e = new Engine({ stages: [defineStage({ name: 'lazy', next: [], process() {} })], nodes: [{ name: 'n', ctx: {} }], pool });
    e.enqueue(pool.load(Uint8Array.of(1), 0, 1, 1, 0, 0), 'lazy', 0);
    expect(() => e.run()).toThrow(/no next stage/);
  });
});

describe('drop reasons', () => {
  it('has unique codes and names, and stable Cilium numbers', () => {
    expect(new Set(DROP_REASONS.map((r) => r.code)).size).toBe(DROP_REASONS.length);
    expect(new Set(DROP_REASONS.map((r) => r.name)).size).toBe(DROP_REASONS.length);
    expect(Drop.POLICY_DENIED).toBe(133);
    expect(Drop.TTL_EXCEEDED).toBe(196);
    expect(dropReasonInfo(158).text).toBe('Service backend not found');
    expect(dropReasonInfo(9999).name).toBe('DROP_REASON_9999');
  });
});

describe('packet pool', () => {
  it('prepends into headroom, strips, clones and grows for oversized frames', () => {
    const pool = new PacketPool(4, 64, 16);
    const s = pool.load(Uint8Array.of(1, 2, 3), 0, 3, 3, 1, 2);
    const st = pool.push(s, 2);
    pool.bufs[s][st] = 9;
    pool.bufs[s][st + 1] = 8;
    expect([...pool.frame(s)]).toEqual([9, 8, 1, 2, 3]);
    const c = pool.clone(s);
    pool.pull(s, 2);
    expect([...pool.frame(s)]).toEqual([1, 2, 3]);
    expect([...pool.frame(c)]).toEqual([9, 8, 1, 2, 3]);
    const big = pool.load(new Uint8Array(500).fill(7), 0, 500, 500, 0, 0);
    expect(pool.frame(big).length).toBe(500);
    pool.alloc();
    expect(() => pool.alloc()).toThrow(/exhausted/);
    pool.free(big);
    expect(pool.bufs[big].length).toBe(64);
  });
});
