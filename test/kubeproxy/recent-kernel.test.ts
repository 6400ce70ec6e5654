/**
 * xt_recent against the kernel: a network namespace holds the two rule forms kube-proxy writes for
 * sessionAffinity (`--set`, and `--rcheck --seconds T --reap`), sources on a local /24 send UDP over lo on a
 * timeline, and /proc/net/xt_recent shows what the kernel kept. dpemu's RecentTable, given the same operations
 * at the times they were sent, must keep the same addresses and answer each rcheck the same way.
 *
 * The timeline makes the two removals that take the list's head (not the packet's address) visible: `--reap`
 * of a stale head while a fresh address is checked, and while a stale address that is not the head is checked.
 * A last part fills a list past ip_list_tot, which evicts the least recently set address.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecentTable } from '../../src/kubeproxy/recent.js';
import { findBinary } from './kernel.js';

const ip = findBinary('ip');
const NS = `dpemu-recent-${process.pid % 100000}`;
const inNs = (...args: string[]): string => execFileSync(ip, ['netns', 'exec', NS, ...args], { encoding: 'utf8' });
const SECONDS = 1;
const RULES = `*filter
:INPUT ACCEPT [0:0]
-A INPUT -i lo -p udp --dport 1001 -m recent --set --name T --mask 255.255.255.255 --rsource
-A INPUT -i lo -p udp --dport 1002 -m recent --rcheck --seconds ${SECONDS} --reap --name T --mask 255.255.255.255 --rsource -j ACCEPT
-A INPUT -i lo -p udp --dport 1003 -m recent --set --name F --mask 255.255.255.255 --rsource
COMMIT
`;

interface Op { at: number; src: string; port: number }
/** [ms after start, last octet, port]: 1001 sets, 1002 rchecks. */
const TIMELINE: Array<[number, number, number]> = [
  [0, 1, 1001], // A
  [500, 2, 1001], // B
  [1300, 2, 1002], // B fresh, head A stale: the kernel reaps A
  [1400, 3, 1001], // C
  [2600, 3, 1002], // C stale but not the head; head B stale: the kernel reaps B and keeps C
];

/** Runs the timeline in the namespace; returns each send's time in seconds from the first. */
function runTimeline(): Op[] {
  const js = `
const dgram = require('dgram');
const plan = ${JSON.stringify(TIMELINE)};
const t0 = process.hrtime.bigint();
const done = [];
(async () => {
  for (const [ms, octet, port] of plan) {
    const wait = ms - Number(process.hrtime.bigint() - t0) / 1e6;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind({ address: '10.9.0.' + octet }, r));
    const at = Number(process.hrtime.bigint() - t0) / 1e9;
    await new Promise((r) => s.send(Buffer.from('x'), port, '10.9.0.254', r));
    s.close();
    done.push({ at, src: '10.9.0.' + octet, port });
  }
  console.log(JSON.stringify(done));
})();`;
  return JSON.parse(inNs(process.execPath, '-e', js)) as Op[];
}

/** Addresses in /proc/net/xt_recent/<name>, sorted. */
function kernelList(name: string): string[] {
  return inNs('cat', `/proc/net/xt_recent/${name}`)
    .split('\n')
    .map((l) => /^src=(\S+)/.exec(l)?.[1])
    .filter((a): a is string => a !== undefined)
    .sort();
}

function rcheckHits(): number {
  const line = inNs(findBinary('iptables-save'), '-c', '-t', 'filter').split('\n').find((l) => l.includes('--dport 1002'))!;
  return Number(/^\[(\d+):/.exec(line)![1]);
}

const ip32 = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const ipText = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

beforeAll(() => {
  execFileSync(ip, ['netns', 'add', NS]);
  inNs(ip, 'link', 'set', 'lo', 'up');
  inNs(ip, 'route', 'add', 'local', '10.9.0.0/24', 'dev', 'lo');
  const r = spawnSync(ip, ['netns', 'exec', NS, findBinary('iptables-restore')], { input: RULES, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`iptables-restore failed: ${r.stderr}`);
});

afterAll(() => {
  spawnSync(ip, ['netns', 'del', NS]);
});

describe('xt_recent: dpemu keeps and reaps the addresses the kernel does', () => {
  it('--reap removes the stale list head, whichever address the packet had', () => {
    const ops = runTimeline();
    const table = new RecentTable();
    let hits = 0;
    for (const op of ops) {
      if (op.port === 1001) table.set('T', ip32(op.src), op.at);
      else if (table.rcheck('T', ip32(op.src), op.at, SECONDS, true)) hits++;
    }
    const mine = table.addresses('T').map(ipText).sort();
    expect({ list: kernelList('T'), hits: rcheckHits() }, JSON.stringify(ops)).toEqual({ list: mine, hits });
  });

  it('a --set into a full list evicts the least recently set address (ip_list_tot)', () => {
    const max = Number(readFileSync('/sys/module/xt_recent/parameters/ip_list_tot', 'utf8'));
    expect(max).toBeLessThan(250);
    const order = [...Array(max + 1).keys()].map((i) => i + 1);
    // Address 1 is set again after the others, so the kernel's LRU head (the one evicted) is address 2.
    order.splice(max - 1, 0, 1);
    const js = `
const dgram = require('dgram');
(async () => {
  for (const octet of ${JSON.stringify(order)}) {
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind({ address: '10.9.0.' + octet }, r));
    await new Promise((r) => s.send(Buffer.from('x'), 1003, '10.9.0.254', r));
    s.close();
  }
})();`;
    inNs(process.execPath, '-e', js);
    const table = new RecentTable(max);
    order.forEach((octet, i) => table.set('F', ip32(`10.9.0.${octet}`), i));
    expect(table.evicted).toBe(1);
    expect(table.addresses('F').map(ipText).sort()).toEqual(kernelList('F'));
    expect(kernelList('F')).not.toContain('10.9.0.2');
  });
});
