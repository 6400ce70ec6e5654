/** `dpemu inspect` end to end through main(): JSON fields against tshark, counts against capinfos, errors and exit codes. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli as run } from '../helpers/cli.js';
import { PcapngWriter, PcapWriter } from '../../src/capture/index.js';
import { Blocks } from '../capture/block-builder.js';
import { buildFrame, vxlanLayers } from '../../src/packet/build.js';
import { TcpFlag } from '../../src/packet/view.js';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'corpus');
const corpus = (f: string): string => join(CORPUS, f);


function requireTool(tool: string, args: string[]): void {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`${tool} is required by these tests (it is the ground truth); install it, e.g. \`apt-get install tshark\` (capinfos comes with it)`);
  }
}

/** Fields compared with `tshark -T fields` (values joined by "," when a field occurs more than once, as tshark does). */
const FIELDS = [
  'frame.number', 'frame.time_epoch', 'frame.interface_id', 'frame.len', 'frame.cap_len',
  'eth.src', 'eth.dst', 'eth.type', 'vlan.id', 'ip.src', 'ip.dst', 'ip.proto', 'ip.ttl', 'ip.id', 'ip.len',
  'ipv6.src', 'ipv6.dst', 'ipv6.nxt', 'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'tcp.seq_raw',
  'udp.srcport', 'udp.dstport', 'udp.length', 'vxlan.vni', 'geneve.vni', 'arp.opcode', 'arp.src.proto_ipv4',
  'icmp.type', 'icmp.code', 'icmpv6.type',
] as const;

/** tshark's rows for FIELDS, decoding 8472 as VXLAN too (dpemu's default port set). */
function tsharkRows(file: string, count?: number): string[][] {
  const args = ['-r', file, '-n', '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  if (count !== undefined) args.push('-c', String(count));
  for (const f of FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

function capinfosCount(file: string): number {
  const text = execFileSync('capinfos', ['-c', '-M', file], { encoding: 'utf8' });
  const m = /Number of packets:\s+(\d+)/.exec(text);
  if (!m) throw new Error(`capinfos printed no packet count for ${file}:\n${text}`);
  return Number(m[1]);
}

const frameLines = (out: string): string[] => out.split('\n').filter((l) => /^ {0,3}\d+ \d\d:\d\d:\d\d\.\d{6}/.test(l));

beforeAll(() => {
  requireTool('tshark', ['-v']);
  requireTool('capinfos', ['-h']);
});

const COMPARED_FILES = [
  'zeek__communityid_tcp.pcap', // tcp session
  'tcpdump__vxlan.pcap', // VXLAN 4789
  'zeek__tunnels_vxlan-encapsulated-http.pcap',
  'tcpdump__geneve.pcap',
  'zeek__pcapng-multi-interface.pcapng', // pcapng, two interfaces
  'pcapngtg__le_basic_test004.pcapng',
  'zeek__linux_dlt_sll2.pcap', // SLL2
  'zeek__communityid_ipv6.pcap',
  'zeek__arp-who-has.pcap',
  'zeek__http-vlan-0.pcap',
  'tcpdump__ipv4_invalid_total_length.pcap', // malformed
  'zeek__tcp_truncated-header.pcap', // cut by the snaplen
  'tcpdump__ipv6-bad-version.pcap',
];

describe('dpemu inspect --json against tshark -T fields', () => {
  it.each(COMPARED_FILES)('%s', async (name) => {
    const file = corpus(name);
    const r = await run(['inspect', file, '--json']);
    expect(r.code, r.err).toBe(0);
    // The summary is on stderr, so stdout is pure JSON Lines.
    expect(r.err).toMatch(/Number of packets:/);
    const objs = r.out.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, string | string[]>);
    const rows = tsharkRows(file);
    expect(objs.length).toBe(rows.length);
    const mismatches: string[] = [];
    objs.forEach((o, i) => {
      FIELDS.forEach((f, c) => {
        const v = o[f];
        const mine = v === undefined ? '' : Array.isArray(v) ? v.join(',') : v;
        const theirs = rows[i][c] ?? '';
        if (mine !== theirs) mismatches.push(`frame ${i + 1} ${f}: dpemu "${mine}" tshark "${theirs}"`);
      });
    });
    expect(mismatches).toEqual([]);
  });

  it('shows a parse error as dpemu.error with its name', async () => {
    const r = await run(['inspect', corpus('tcpdump__ipv4_invalid_hdr_length.pcap'), '--json']);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out.split('\n')[0]) as Record<string, unknown>;
    expect(o['dpemu.error']).toBe('BAD_IHL');
  });

  it('writes a field that occurs in several layers as an array, outermost first', async () => {
    const r = await run(['inspect', corpus('tcpdump__vxlan.pcap'), '--json', '--count', '1']);
    const o = JSON.parse(r.out.trim()) as Record<string, unknown>;
    const t = tsharkRows(corpus('tcpdump__vxlan.pcap'), 1)[0];
    expect(o['ip.src']).toEqual(t[FIELDS.indexOf('ip.src')].split(','));
    expect(Array.isArray(o['ip.src'])).toBe(true);
  });
});

describe('dpemu inspect text output', () => {
  it.each(['zeek__communityid_tcp.pcap', 'zeek__pcapng-multi-interface.pcapng', 'zeek__linux_dlt_sll2.pcap', 'tcpdump__vxlan.pcap', 'zeek__icmp_5-pings.pcap'])(
    'summary packet count and frame lines match capinfos for %s', async (name) => {
      const file = corpus(name);
      const r = await run(['inspect', file]);
      expect(r.code, r.err).toBe(0);
      const n = capinfosCount(file);
      const m = /Number of packets:\s+(\d+)/.exec(r.out);
      expect(m?.[1]).toBe(String(n));
      expect(r.out.indexOf('Number of packets')).toBeLessThan(r.out.indexOf('\n   1 '));
      expect(frameLines(r.out)).toHaveLength(n);
    },
  );

  it('prints 9 fraction digits for a nanosecond interface described after the first packet (a later IDB or section)', async () => {
    const eth = Buffer.concat([Buffer.from('ffffffffffff0000000000010806', 'hex'), Buffer.alloc(46)]);
    const ns = 1700000000123456789n;
    const f = join(mkdtempSync(join(tmpdir(), 'dpemu-inspect-')), 'late-nsec.pcapng');
    const b = new Blocks();
    b.shb().idb(1, 0).epb(0, 395812, 404635649, eth); // 1700000000.000001 s at microseconds
    b.idb(1, 0, b.opts(b.option(9, Buffer.from([9])))).epb(1, Number(ns >> 32n), Number(ns & 0xffffffffn), eth);
    writeFileSync(f, b.build());
    const r = await run(['inspect', f]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('\n   1 22:13:20.000001 ');
    // tshark: frame.time_epoch 1700000000.123456789.
    expect(r.out).toContain('\n   2 22:13:20.123456789 ');
  });

  it('prints the capture duration exactly, to the nanosecond, however long it is', async () => {
    const eth = Buffer.concat([Buffer.from('ffffffffffff0000000000010806', 'hex'), Buffer.alloc(46)]);
    const f = join(mkdtempSync(join(tmpdir(), 'dpemu-inspect-')), 'long.pcapng');
    const b = new Blocks();
    // 1 ns and 2^64 - 1 ns at if_tsresol 9: the first and last times an EPB can hold.
    b.shb().idb(1, 0, b.opts(b.option(9, Buffer.from([9])))).epb(0, 0, 1, eth).epb(0, 0xffffffff, 0xffffffff, eth);
    writeFileSync(f, b.build());
    const r = await run(['inspect', f]);
    expect(r.code, r.err).toBe(0);
    // capinfos -u: 18446744073.709551614 seconds (a float sum printed ...709552765).
    expect(r.out).toMatch(/^Capture duration: +18446744073\.709551614 seconds$/m);
    expect(r.out).toMatch(/^Last packet time: +2554-07-21 23:34:33\.709551615 UTC$/m);
  });

  it('prints tcpdump -n style lines, with the inner flow of VXLAN frames', async () => {
    const r = await run(['inspect', corpus('tcpdump__vxlan.pcap'), '--count', '2']);
    const lines = frameLines(r.out);
    expect(lines[0]).toBe('   1 20:21:44.837063 IP 192.168.203.1.45149 > 192.168.202.1.4789: VXLAN, vni 100: '
      + 'IP 192.168.203.3 > 192.168.203.5: ICMP echo request, id 1292, seq 1, length 64');
    expect(lines[1]).toMatch(/VXLAN, vni 100: ARP, Request who-has 192\.168\.203\.3 tell 192\.168\.203\.5, length 28$/);
  });

  it('prints TCP flags, seq, win and payload length', async () => {
    const r = await run(['inspect', corpus('zeek__tcp_syn-then-rst.pcap')]);
    expect(frameLines(r.out)[0]).toBe('   1 23:00:59.118652 IP 1.1.1.1.13131 > 1.1.1.2.31313: Flags [S], seq 0, win 8192, length 0');
  });

  it('appends the parse error with its byte offset', async () => {
    const r = await run(['inspect', corpus('tcpdump__ipv4_invalid_hdr_length.pcap')]);
    expect(frameLines(r.out)[0]).toMatch(/ \[dpemu: BAD_IHL at byte 14\]$/);
  });

  it('--count limits the frames printed', async () => {
    const file = corpus('zeek__communityid_tcp.pcap');
    expect(frameLines((await run(['inspect', file, '--count', '3'])).out)).toHaveLength(3);
    const j = await run(['inspect', file, '--json', '--count', '2']);
    expect(j.out.trim().split('\n')).toHaveLength(2);
    expect((await run(['inspect', file, '--count', 'x'])).code).toBe(2);
  });
});

describe('frames without a timestamp (pcapng Simple Packet Blocks)', () => {
  const file = corpus('pcapngtg__le_basic_test011.pcapng');

  it('--json leaves frame.time_epoch out where tshark leaves it empty', async () => {
    const r = await run(['inspect', file, '--json']);
    expect(r.code, r.err).toBe(0);
    const mine = r.out.trim().split('\n').map((l) => (JSON.parse(l) as Record<string, string | undefined>)['frame.time_epoch'] ?? '');
    const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8' });
    expect(mine).toEqual(t.stdout.replace(/\n$/, '').split('\n'));
    expect(mine.filter((x) => x === '')).toHaveLength(2);
  });

  it('the summary gives no first/last time or duration, as capinfos, and says why', async () => {
    const r = await run(['inspect', file]);
    expect(r.out).toContain('Packet times:        unknown: 2 of 4 packets have no timestamp (pcapng Simple Packet Blocks)');
    expect(r.out).not.toMatch(/First packet time|Last packet time|Capture duration/);
    const c = spawnSync('capinfos', [file], { encoding: 'utf8' });
    expect(c.stdout).not.toMatch(/First packet time|Last packet time|Capture duration/);
  });
});

describe('packet comments', () => {
  it('frame.comment: one comment a string, several an array, joined as tshark joins them', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'dpemu-inspect-')), 'comments.pcapng');
    const w = PcapngWriter.toFile(f);
    const ifc = w.addInterface({ linkType: 1 });
    const frame = buildFrame([{ type: 'eth' }, { type: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, { type: 'udp', srcPort: 1, dstPort: 2 }]);
    w.writePacket(ifc, frame, 1, 0, frame.length, 'only');
    w.writePacket(ifc, frame, 2, 0, frame.length, ['first', 'second, with a comma']);
    w.writePacket(ifc, frame, 3, 0);
    await w.close();
    const j = await run(['inspect', f, '--json']);
    expect(j.code, j.err).toBe(0);
    const got = j.out.trim().split('\n').map((l) => (JSON.parse(l) as Record<string, unknown>)['frame.comment']);
    expect(got).toEqual(['only', ['first', 'second, with a comma'], undefined]);
    const r = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(got.map((c) => (c === undefined ? '' : Array.isArray(c) ? c.join(',') : c)));
  });
});

describe('VXLAN on the Linux port 8472', () => {
  it('decodes the inner flow (tshark needs -d udp.port==8472,vxlan to agree)', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'dpemu-inspect-')), 'vxlan8472.pcap');
    const w = PcapWriter.toFile(f, { linkType: 1 });
    const frame = buildFrame([
      ...vxlanLayers({ src: '10.0.1.5', dst: '10.0.1.6', srcPort: 41234, dstPort: 8472, vni: 1 }),
      { type: 'eth' },
      { type: 'ipv4', src: '10.244.1.5', dst: '10.244.2.8' },
      { type: 'tcp', srcPort: 52345, dstPort: 8080, seq: 123, flags: TcpFlag.SYN, window: 64240 },
    ]);
    w.writePacket(frame, 1700000000, 123456000);
    await w.close();
    const r = await run(['inspect', f]);
    expect(r.code, r.err).toBe(0);
    expect(frameLines(r.out)[0]).toBe('   1 22:13:20.123456 IP 10.0.1.5.41234 > 10.0.1.6.8472: VXLAN, vni 1: '
      + 'IP 10.244.1.5.52345 > 10.244.2.8.8080: Flags [S], seq 123, win 64240, length 0');
    const j = await run(['inspect', f, '--json']);
    const o = JSON.parse(j.out.trim()) as Record<string, unknown>;
    const t = tsharkRows(f)[0];
    expect(o['frame.time_epoch']).toBe('1700000000.123456000');
    for (const k of ['vxlan.vni', 'ip.src', 'tcp.dstport', 'tcp.flags'] as const) {
      const v = o[k];
      expect(Array.isArray(v) ? v.join(',') : v, k).toBe(t[FIELDS.indexOf(k)]);
    }
    expect(o['ip.src']).toEqual(['10.0.1.5', '10.244.1.5']);
  });
});

describe('dpemu inspect errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpemu-inspect-'));

  it('missing file: exit 2 and a clear message', async () => {
    const missing = join(dir, 'no-such.pcap');
    const r = await run(['inspect', missing]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no such file');
    expect(r.err).toContain(missing);
    expect(r.out).toBe('');
  });

  it('a file that is not a capture: exit 2 "unknown format"', async () => {
    const f = join(dir, 'notes.txt');
    writeFileSync(f, 'hello, this is not a capture\n');
    const r = await run(['inspect', f]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown format');
    expect(r.err).toContain(f);
  });

  it('a truncated file: every good frame first, then the error with file, block type and offset; exit 1', async () => {
    const src = corpus('tcpdump__vxlan.pcap');
    const bytes = readFileSync(src);
    const f = join(dir, 'cut.pcap');
    writeFileSync(f, bytes.subarray(0, 700));
    // tshark reads the good frames of the cut file; their record sizes give where the damaged record starts.
    const good = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.cap_len'], { encoding: 'utf8' })
      .stdout.split('\n').filter((l) => l.length > 0).map(Number);
    expect(good.length).toBeGreaterThan(0);
    const offset = 24 + good.reduce((a, c) => a + 16 + c, 0);
    const r = await run(['inspect', f]);
    expect(r.code).toBe(1);
    expect(frameLines(r.out)).toHaveLength(good.length);
    expect(r.err).toContain(f);
    expect(r.err).toContain('pcap record');
    expect(r.err).toContain(`byte offset ${offset}`);
    const j = await run(['inspect', f, '--json']);
    expect(j.code).toBe(1);
    expect(j.out.trim().split('\n')).toHaveLength(good.length);
    expect(j.err).toContain(`byte offset ${offset}`);
  });
});

describe('dpemu CLI', () => {
  afterEach(() => vi.restoreAllMocks());

  it('--help exits 0 and lists inspect', async () => {
    let printed = '';
    vi.spyOn(console, 'info').mockImplementation((...a: unknown[]) => { printed += a.join(' ') + '\n'; });
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(printed + r.out).toContain('inspect');
  });

  it('an unknown command exits 2', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command');
  });
});
