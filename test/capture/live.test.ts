import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureFileReader } from '../../src/capture/sync-file-reader.js';
import { ipWireLength, LiveCapture, LiveCaptureError, loadCap, probeOpen, type LiveCaptureOptions } from '../../src/capture/live.js';
import type { FrameBatch } from '../../src/capture/frame-batch.js';
import { LinkType } from '../../src/packet/view.js';
import { replayCommand, defaultCapturePath } from '../../src/cli/replay-command.js';
import { loadScenario } from '../../src/scenario/index.js';
import { defaultScenarioPath, packageRoot } from '../../src/scenario/default-path.js';
import type { Io } from '../../src/cli/io.js';

/** A stand-in for `cap`: frames are pushed with emit(), open() fails on demand. */
function fakeCap(opts: { link?: string; openError?: string } = {}) {
  let listener: ((n: number, t: boolean) => void) | undefined;
  let buffer: Buffer = Buffer.alloc(0);
  const state = { closed: false, filter: '' };
  class Cap {
    static deviceList() {
      return [{ name: 'eth0' }, { name: 'lo' }];
    }
    open(_device: string, filter: string, _size: number, buf: Buffer): string {
      if (opts.openError) throw new Error(opts.openError);
      state.filter = filter;
      buffer = buf;
      return opts.link ?? 'ETHERNET';
    }
    close() {
      state.closed = true;
    }
    on(_e: 'packet', l: (n: number, t: boolean) => void) {
      listener = l;
    }
  }
  const emit = (bytes: Uint8Array, trunc = false): void => {
    buffer.set(bytes);
    listener!(bytes.length, trunc);
  };
  return { cap: { Cap }, emit, state };
}

const frame = (n: number, len = 60): Uint8Array => new Uint8Array(len).fill(n);
let clock = 1_700_000_000_000_000_000n;
const options = (cap: ReturnType<typeof fakeCap>['cap'], o: Partial<LiveCaptureOptions> = {}): LiveCaptureOptions => ({ device: 'eth0', cap, clockNs: () => (clock += 1500n), ...o });

async function drain(live: LiveCapture): Promise<{ bytes: number[][]; ts: number[]; link: number[] }> {
  const out = { bytes: [] as number[][], ts: [] as number[], link: [] as number[] };
  for await (const b of live as AsyncIterable<FrameBatch>) {
    for (let i = 0; i < b.count; i++) {
      out.bytes.push([...b.data(i)]);
      out.ts.push(b.tsSec[i] * 1e9 + b.tsNsec[i]);
      out.link.push(b.linkType[i]);
    }
  }
  return out;
}

describe('LiveCapture (with a stand-in for cap)', () => {
  it('delivers frames in arrival order with wall-clock times, and stops at --count', async () => {
    const f = fakeCap();
    const live = new LiveCapture(options(f.cap, { count: 3, filter: 'udp' }));
    expect(f.state.filter).toBe('udp');
    f.emit(frame(1));
    f.emit(frame(2, 1514));
    const got = drain(live);
    await Promise.resolve();
    f.emit(frame(3, 42));
    f.emit(frame(4)); // after the count: ignored
    const r = await got;
    expect(r.bytes.map((b) => [b[0], b.length])).toEqual([[1, 60], [2, 1514], [3, 42]]);
    expect(r.link).toEqual([LinkType.ETHERNET, LinkType.ETHERNET, LinkType.ETHERNET]);
    expect(r.ts[1] - r.ts[0]).toBeGreaterThan(0);
    expect(f.state.closed).toBe(true);
    expect(live.frames).toBe(3);
  });

  it('counts the frames that arrive beyond the queue instead of dropping them silently', async () => {
    const f = fakeCap();
    const live = new LiveCapture(options(f.cap, { maxQueued: 2 }));
    for (let i = 0; i < 5; i++) f.emit(frame(i));
    live.stop();
    const r = await drain(live);
    expect(r.bytes.length).toBe(2);
    expect(live.lost).toBe(3);
  });

  it('says what is wrong: unknown interface (with the list), bad filter, permission, link type, no cap', () => {
    const err = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(LiveCaptureError);
        return `${(e as LiveCaptureError).code}: ${(e as Error).message}`;
      }
      return 'no error';
    };
    expect(err(() => new LiveCapture(options(fakeCap().cap, { device: 'eth9' })))).toBe('BAD_LIVE_DEVICE: --live eth9: no such interface (interfaces: eth0, lo)');
    expect(err(() => new LiveCapture(options(fakeCap({ openError: 'syntax error in filter expression' }).cap, { filter: 'tcp port' })))).toMatch(/^BAD_LIVE_FILTER: --filter "tcp port": libpcap rejects it/);
    expect(err(() => new LiveCapture(options(fakeCap({ openError: 'eth0: You don\'t have permission to perform this capture on that device (socket: Operation not permitted)' }).cap)))).toMatch(/^LIVE_OPEN_FAILED: .*needs root or CAP_NET_RAW/);
    expect(err(() => new LiveCapture(options(fakeCap({ link: 'IEEE802_11_RADIO' }).cap)))).toMatch(/^LIVE_LINK_TYPE: .*IEEE802_11_RADIO/);
    // The probe's answer (a child process tried the open) is reported as the open's own would be, and open() is never called.
    const probed = fakeCap();
    expect(err(() => new LiveCapture(options(probed.cap, { filter: 'tcp port', probe: () => 'can\'t parse filter expression: syntax error' })))).toMatch(/^BAD_LIVE_FILTER: --filter "tcp port"/);
    expect(probed.state.filter).toBe('');
    expect(err(() => new LiveCapture(options(fakeCap().cap, { count: 0 })))).toMatch(/^BAD_LIVE_OPTION/);
    const missing = createRequire(import.meta.url);
    const noCap = ((id: string) => missing(`${id}-not-installed`)) as NodeRequire;
    expect(err(() => loadCap(noCap))).toMatch(/^LIVE_UNAVAILABLE: live capture needs the optional package `cap`.*apt-get install libpcap-dev.*npm rebuild cap/);
  });

  it('a frame cut at the 65,535-byte buffer keeps its wire length from the IP header, and is counted', async () => {
    const f = fakeCap();
    const live = new LiveCapture(options(f.cap, { count: 2 }));
    const big = new Uint8Array(65535);
    big.set([0x08, 0x00], 12); // IPv4
    big[14] = 0x45;
    big.set([0xff, 0xdd], 16); // total length 65501: 65515 on the wire with Ethernet... not cut
    f.emit(big);
    const cut = big.slice();
    cut.set([0x81, 0x00, 0x00, 0x05, 0x08, 0x00], 12); // one VLAN tag, then IPv4
    cut[18] = 0x45;
    cut.set([0xff, 0xfb], 20); // 65531 + 18 = 65549 bytes on the wire (a 65507-byte UDP datagram)
    f.emit(cut);
    const lens: number[] = [];
    for await (const b of live as AsyncIterable<FrameBatch>) for (let i = 0; i < b.count; i++) lens.push(b.caplen[i], b.wireLen[i]);
    expect(lens).toEqual([65535, 65535, 65535, 65549]);
    expect(live.truncated).toBe(1);
    expect(ipWireLength(new Uint8Array(60), 0, 60, LinkType.ETHERNET)).toBe(60);
  });

  it('refuses --seconds past what a timer holds (it would fire at once)', () => {
    expect(() => new LiveCapture(options(fakeCap().cap, { seconds: 1e10 }))).toThrow(/--seconds must be a number > 0 and at most 2147483/);
  });

  it('reads Linux cooked captures (the "any" device) as their link type', async () => {
    const f = fakeCap({ link: 'LINKTYPE_LINUX_SLL' });
    const live = new LiveCapture(options(f.cap, { count: 1 }));
    f.emit(frame(7, 50));
    expect((await drain(live)).link).toEqual([LinkType.LINUX_SLL]);
  });
});

// The real thing: libpcap on a veth pair (root, as CI runs). The bundled walk's frames are sent into one end and
// captured live on the other; the replay of the live frames must give the file replay's lines, times aside.
describe('dpemu replay --live on a veth pair', () => {
  // Named per process, so two test runs on one machine do not take each other's links.
  const A = `dpl${process.pid}a`, B = `dpl${process.pid}b`;
  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'ignore' });
  beforeAll(() => {
    try {
      ip('link', 'del', A);
    } catch {
      // not there: fine
    }
    ip('link', 'add', A, 'type', 'veth', 'peer', 'name', B);
    for (const d of [A, B]) {
      // Quiet links (no IPv6 router solicitations); the capture's filter `ip` keeps them out anyway, and a
      // kernel booted without IPv6 has no such sysctl.
      try {
        execFileSync('sysctl', ['-qw', `net.ipv6.conf.${d}.disable_ipv6=1`], { stdio: 'ignore' });
      } catch {
        // no IPv6 here: nothing to quiet
      }
      ip('link', 'set', d, 'up');
    }
  });
  afterAll(() => ip('link', 'del', A));

  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), errIsTty: false } satisfies Io };
  };
  // Per-frame lines without the time column.
  const untimed = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '').map((l) => l.replace(/^(\s*\d+\+?)\s+\d+\.\d+/, '$1'));

  it('probes the open in a child process: a rejected filter is an answer, not a crash (cap 0.2 crashes after a failed open)', () => {
    expect(probeOpen(A, 'ip')).toBeUndefined();
    expect(probeOpen(A, 'tcp port')).toMatch(/syntax error/);
    expect(probeOpen('dpemu-nope', '')).toBe('No such device exists');
  });

  it('ends (closing libpcap) when an output path is refused before the replay starts', async () => {
    const out = spawnSync(process.execPath, ['bin/dpemu.js', 'replay', '--live', A, '--write-pcaps', '/dev/null/x'], { cwd: packageRoot(), encoding: 'utf8', timeout: 20_000 });
    expect(out.signal).toBeNull(); // not killed by the timeout: the process ended by itself
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--write-pcaps /dev/null/x: /dev/null is not a directory');
  }, 30_000);

  it('gives the file replay\'s verdicts and paths for the same frames', async () => {
    const loaded = loadScenario([defaultScenarioPath()]);
    if (!loaded.ok) throw loaded.error;
    const frames: Uint8Array[] = [];
    const r = CaptureFileReader.open(defaultCapturePath());
    while (r.next() > 0) for (let i = 0; i < r.batch.count; i++) frames.push(r.batch.data(i).slice());
    r.close();
    const cap = loadCap();
    const live = new LiveCapture({ device: A, filter: 'ip', count: frames.length, seconds: 20 });
    const tx = new cap.Cap();
    tx.open(B, 'less 1', 1 << 20, Buffer.alloc(65535));
    const liveRun = io();
    const done = replayCommand(live, loaded.cluster, {}, liveRun.io);
    for (const f of frames) (tx as unknown as { send(b: Buffer, n: number): void }).send(Buffer.from(f), f.length);
    tx.close();
    expect(await done).toBe(0);
    expect(live.frames).toBe(frames.length);
    expect(live.lost).toBe(0);
    const fileRun = io();
    expect(await replayCommand(defaultCapturePath(), loaded.cluster, {}, fileRun.io)).toBe(0);
    expect(untimed(liveRun.out.join(''))).toEqual(untimed(fileRun.out.join('')));
    expect(untimed(liveRun.out.join('')).length).toBeGreaterThan(frames.length);
  }, 30_000);
});
