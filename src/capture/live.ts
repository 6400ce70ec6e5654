/**
 * Live capture from a network interface through libpcap (the optional `cap` package), as a frame source
 * the replay driver reads like a capture file: batches of frames, an interface list, close().
 *
 * `cap` compiles against libpcap's headers, so a machine without them installs dpemu without it; asking
 * for live capture there is a LiveCaptureError that says what to install. Frames are timestamped on
 * arrival with the wall clock (ns): `cap` does not pass libpcap's own header timestamp or wire length.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { LinkType } from '../packet/view.js';
import { DpemuError } from '../util/errors.js';
import { FrameBatch } from './frame-batch.js';
import type { CaptureInterface, FrameSource } from './types.js';

export type LiveErrorCode = 'LIVE_UNAVAILABLE' | 'BAD_LIVE_DEVICE' | 'BAD_LIVE_OPTION' | 'LIVE_OPEN_FAILED' | 'BAD_LIVE_FILTER' | 'LIVE_LINK_TYPE';

export class LiveCaptureError extends DpemuError {
  declare readonly code: LiveErrorCode;
  constructor(code: LiveErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** What dpemu uses of `cap` (its types are not published). */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
}
interface CapModule {
  Cap: { new (): CapHandle; deviceList(): { name: string }[] };
}

export const LIVE_INSTALL_HINT =
  'live capture needs the optional package `cap`, which compiles against libpcap: install the headers ' +
  '(Debian/Ubuntu: `apt-get install libpcap-dev`; Fedora: `dnf install libpcap-devel`), then `npm rebuild cap` ' +
  '(or `npm install cap` if npm skipped it)';

/** Loads `cap`; a LiveCaptureError saying what to install when it is missing or was not built. */
export function loadCap(require = createRequire(import.meta.url)): CapModule {
  try {
    return require('cap') as CapModule;
  } catch (e) {
    throw new LiveCaptureError('LIVE_UNAVAILABLE', `${LIVE_INSTALL_HINT} (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
}

/** `cap`'s link-type names (pcap_datalink) as LINKTYPE_* numbers; 802.11 radiotap is not read. */
const LINK_TYPES: Readonly<Record<string, number>> = {
  ETHERNET: LinkType.ETHERNET,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  RAW: LinkType.RAW,
  NULL: LinkType.NULL,
};

/**
 * What is wrong with a --count or --seconds value (raw, as given), else undefined: one check for the CLI and the
 * constructor. setTimeout holds at most 2^31 - 1 ms (~24.8 days); beyond, Node fires it at once.
 */
export function liveLimitProblem(count: unknown, seconds: unknown): string | undefined {
  const n = Number(count);
  if (count !== undefined && !(Number.isInteger(n) && n > 0)) return `--count must be a positive integer, got ${String(count)}`;
  const sec = Number(seconds);
  if (seconds !== undefined && !(sec > 0 && sec * 1000 <= 0x7fffffff)) return `--seconds must be a number > 0 and at most 2147483 (24 days), got ${String(seconds)}`;
  return undefined;
}

export interface LiveCaptureOptions {
  /** Interface name (`ip link`), or `any` (Linux cooked capture of every interface). */
  readonly device: string;
  /** pcap-filter(7) expression, as tcpdump takes it; empty: every frame. */
  readonly filter?: string;
  /** Stop after this many frames. */
  readonly count?: number;
  /** Stop after this many seconds. */
  readonly seconds?: number;
  /** Frames held between two reads of the consumer (default 8,192); beyond it frames are counted in `lost`, never dropped silently. */
  readonly maxQueued?: number;
  /** The `cap` module (tests pass a fake one); default: loaded with loadCap(). */
  readonly cap?: CapModule;
  /** Wall clock in ns (tests pass a fixed one). */
  readonly clockNs?: () => bigint;
  /** Tries the open elsewhere first: libpcap's error, or undefined when it opens (default with the real cap: probeOpen). */
  readonly probe?: (device: string, filter: string) => string | undefined;
}

/**
 * Opens the device with the filter in a child process and reports libpcap's error (undefined: it opens). The
 * child ends with SIGKILL, so cap's crash after a failed open cannot reach this process.
 */
export function probeOpen(device: string, filter: string): string | undefined {
  const script = `const { Cap } = require(${JSON.stringify(createRequire(import.meta.url).resolve('cap'))});
let r = 'OK';
try { const c = new Cap(); c.open(process.argv[1], process.argv[2], 1 << 16, Buffer.alloc(65535)); c.close(); }
catch (e) { r = 'ERR ' + e.message; }
process.stdout.write(r, () => process.kill(process.pid, 'SIGKILL'));`;
  const out = spawnSync(process.execPath, ['-e', script, device, filter], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  if (out === 'OK') return undefined;
  return out.startsWith('ERR ') ? out.slice(4) : `the probe of ${device} gave no answer`;
}

const SNAPLEN = 65535;

/**
 * The length of a frame on the wire from its IPv4 total length or IPv6 payload length (`len` when the frame is
 * not IP or says no more than it holds). `at`: the frame's first byte in `b`.
 */
export function ipWireLength(b: Uint8Array, at: number, len: number, linkType: number): number {
  let l3 = linkType === LinkType.ETHERNET ? 14 : linkType === LinkType.LINUX_SLL ? 16 : linkType === LinkType.NULL ? 4 : 0;
  if (l3 + 40 > len) return len;
  if (linkType === LinkType.ETHERNET || linkType === LinkType.LINUX_SLL) {
    // The EtherType (SLL: the protocol field) ends the header; 802.1Q / 802.1ad tags come before it.
    let et = (b[at + l3 - 2] << 8) | b[at + l3 - 1];
    while ((et === 0x8100 || et === 0x88a8) && l3 + 44 <= len) {
      l3 += 4;
      et = (b[at + l3 - 2] << 8) | b[at + l3 - 1];
    }
    if (et !== 0x0800 && et !== 0x86dd) return len;
  }
  const v = b[at + l3] >> 4;
  const total = v === 4 ? l3 + ((b[at + l3 + 2] << 8) | b[at + l3 + 3]) : v === 6 ? l3 + 40 + ((b[at + l3 + 4] << 8) | b[at + l3 + 5]) : len;
  return total > len ? total : len;
}

/** A live interface as a frame source: iterate for batches (each valid until the next step); stop() ends it. */
export class LiveCapture implements FrameSource {
  readonly format = 'live';
  readonly interfaces: readonly CaptureInterface[];
  /** Frames that arrived while `maxQueued` were already waiting: counted, not replayed. */
  lost = 0;
  /** Frames handed to the consumer. */
  frames = 0;
  /** Frames longer than the 65,535-byte buffer: cut there, their wire length taken from the IP header. */
  truncated = 0;
  private readonly handle: CapHandle;
  private readonly frame = Buffer.alloc(SNAPLEN);
  private filling: FrameBatch;
  private spare: FrameBatch;
  private fillBytes = new Uint8Array(1 << 20);
  private fillEnd = 0;
  private spareBytes = new Uint8Array(1 << 20);
  private stopped = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly limit: number;
  private readonly clockNs: () => bigint;

  constructor(o: LiveCaptureOptions) {
    const cap = o.cap ?? loadCap();
    const names = cap.Cap.deviceList().map((d) => d.name);
    if (!names.includes(o.device)) {
      throw new LiveCaptureError('BAD_LIVE_DEVICE', `--live ${o.device}: no such interface (interfaces: ${names.join(', ')})`);
    }
    const limits = liveLimitProblem(o.count, o.seconds);
    if (limits !== undefined) throw new LiveCaptureError('BAD_LIVE_OPTION', limits);
    this.limit = o.count ?? Infinity;
    const queued = o.maxQueued ?? 8192;
    this.filling = new FrameBatch(queued);
    this.spare = new FrameBatch(queued);
    // The wall clock once, then the monotonic clock's progress: ns resolution, never going backwards.
    const wall0 = BigInt(Date.now()) * 1_000_000n;
    const hr0 = process.hrtime.bigint();
    this.clockNs = o.clockNs ?? (() => wall0 + (process.hrtime.bigint() - hr0));
    // cap 0.2 crashes the process (an uninitialised uv_poll_stop, at close or at exit) when open() fails part
    // way, as for a filter libpcap rejects or a capture without permission: a child process tries first.
    const probe = o.probe ?? (o.cap === undefined ? probeOpen : undefined);
    const problem = probe?.(o.device, o.filter ?? '');
    this.handle = new cap.Cap();
    let link: string;
    try {
      if (problem !== undefined) throw new Error(problem);
      link = this.handle.open(o.device, o.filter ?? '', 16 * 1024 * 1024, this.frame);
    } catch (e) {
      const msg = (e as Error).message;
      if (/syntax|filter|parse/i.test(msg)) throw new LiveCaptureError('BAD_LIVE_FILTER', `--filter ${JSON.stringify(o.filter ?? '')}: libpcap rejects it (${msg}); see pcap-filter(7)`, { cause: e });
      const perm = /permitted|permission|denied/i.test(msg) ? ': capturing needs root or CAP_NET_RAW (e.g. sudo, or setcap cap_net_raw+ep on node)' : '';
      throw new LiveCaptureError('LIVE_OPEN_FAILED', `--live ${o.device}: libpcap could not open it (${msg})${perm}`, { cause: e });
    }
    const linkType = LINK_TYPES[link];
    if (linkType === undefined) {
      this.handle.close();
      throw new LiveCaptureError('LIVE_LINK_TYPE', `--live ${o.device}: link type ${link} is not one dpemu reads (Ethernet, Linux cooked, raw IP, BSD loopback)`);
    }
    this.interfaces = [{ id: 0, sectionIndex: 0, localId: 0, linkType, fcsLength: 0, snaplen: SNAPLEN, name: o.device, tsresol: 9, tsoffset: 0 }];
    this.handle.on('packet', (nbytes, trunc) => this.onPacket(nbytes, trunc));
    if (o.seconds !== undefined) this.timer = setTimeout(() => this.stop(), o.seconds * 1000);
  }

  private onPacket(nbytes: number, trunc: boolean): void {
    if (this.stopped) return;
    const b = this.filling;
    if (b.count >= b.capacity) {
      this.lost++;
      return;
    }
    if (this.fillEnd + nbytes > this.fillBytes.length) {
      const grown = new Uint8Array(Math.max(this.fillBytes.length * 2, this.fillEnd + nbytes));
      grown.set(this.fillBytes.subarray(0, this.fillEnd));
      this.fillBytes = grown;
    }
    this.fillBytes.set(this.frame.subarray(0, nbytes), this.fillEnd);
    const i = b.count++;
    const ns = this.clockNs();
    b.offset[i] = this.fillEnd;
    b.caplen[i] = nbytes;
    // A frame as long as the buffer was cut there (cap's snaplen; its `truncated` only says the buffer was too
    // small): the IP header says how long it was on the wire.
    const wire = nbytes >= SNAPLEN || trunc ? ipWireLength(this.fillBytes, this.fillEnd, nbytes, this.interfaces[0].linkType) : nbytes;
    b.wireLen[i] = wire;
    if (wire > nbytes) this.truncated++;
    b.tsSec[i] = Number(ns / 1_000_000_000n);
    b.tsNsec[i] = Number(ns % 1_000_000_000n);
    b.interfaceId[i] = 0;
    b.linkType[i] = this.interfaces[0].linkType;
    b.recordOffset[i] = -1;
    b.flags[i] = 0;
    this.fillEnd += nbytes;
    if (this.frames + b.count >= this.limit) this.stop();
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Ends the capture: frames already queued are still delivered, then iteration ends. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.handle.close();
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async close(): Promise<void> {
    this.stop();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FrameBatch> {
    for (;;) {
      if (this.filling.count === 0) {
        if (this.stopped) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      // Swap: the consumer reads one batch while the other fills.
      const out = this.filling;
      out.buf = this.fillBytes;
      [this.filling, this.spare] = [this.spare, out];
      [this.fillBytes, this.spareBytes] = [this.spareBytes, this.fillBytes];
      this.filling.reset();
      this.fillEnd = 0;
      this.frames += out.count;
      yield out;
    }
  }
}
