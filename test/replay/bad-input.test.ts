/**
 * `dpemu replay` on bad input: scenario problems and a missing capture are usage errors (exit 2,
 * nothing replayed); a damaged capture replays every good frame and then reports where (exit 1);
 * an unknown `--at` lists what exists (exit 2).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultCapturePath } from '../../src/cli/replay-command.js';
import { PcapWriter, openCapture } from '../../src/capture/index.js';
import { buildFrame } from '../../src/packet/build.js';
import { defaultScenarioPath, packageRoot } from '../../src/scenario/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'dpemu-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Result lines (`  N  t  …  VERDICT`) of the text output, by input frame number. */
const resultFrames = (out: string): number[] => [...out.matchAll(/^\s*(\d+)\+?\s+\d+\.\d{6}\s/gm)].map((m) => Number(m[1]));

describe('dpemu replay bad inputs', () => {
  it('a scenario with a broken CIDR: exit 2, the problem names file, document, line and field; nothing replayed', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(defaultScenarioPath(), 'utf8').replace('podCIDR: 10.244.2.0/24', 'podCIDR: 10.244.2.0/33'));
    const r = await runCli(['replay', '--scenario', bad]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${bad}:doc 1 (line `);
    expect(r.err).toMatch(/spec\.nodes\[1\]\.podCIDR: expected an IPv4 CIDR .*got "10\.244\.2\.0\/33"/);
  });

  it('a missing capture: exit 2 naming it, nothing on stdout', async () => {
    const missing = join(dir, 'nope.pcapng');
    const r = await runCli(['replay', missing]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(missing);
  });

  it('a truncated capture: every good frame is replayed, then the error with its byte offset, exit 1', async () => {
    const whole = readFileSync(defaultCapturePath());
    const cut = join(dir, 'cut.pcapng');
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    const r = await runCli(['replay', cut]);
    expect(r.code).toBe(1);
    // The walk has 19 frames; the last block is cut, so frames 1..18 each have a result line.
    const frames = new Set(resultFrames(r.out));
    expect([...frames].sort((a, b) => a - b)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(r.err).toMatch(new RegExp(`${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: EPB at byte offset \\d+: .*TRUNCATED_BLOCK`));
    const offset = Number(/byte offset (\d+)/.exec(r.err)![1]);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(whole.length - 100);
  });

  it('a truncated capture still gets its outputs for the good frames (pcaps, stats, conntrack, totals), then the error, exit 1', async () => {
    const whole = readFileSync(defaultCapturePath());
    const cut = join(dir, 'cut-outputs.pcapng');
    writeFileSync(cut, whole.subarray(0, 1500));
    const pcaps = join(dir, 'cut-pcaps', 'deeper');
    const r = await runCli(['replay', cut, '--write-pcaps', pcaps, '--stats', '--dump', 'ct']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^5 frames replayed: 5 packets ended, 5 forwarded, 0 dropped$/m);
    expect(r.out).toContain('# node node-1: conntrack -L (3 flow entries)');
    expect(r.out).toMatch(/frame-input/); // the --stats runtime table
    expect(readdirSync(pcaps).sort()).toEqual(['node-1.pcapng', 'node-2.pcapng', 'node-3.pcapng']);
    expect(r.err).toMatch(/wrote .*node-1\.pcapng[\s\S]*byte offset 1264: .*TRUNCATED_BLOCK/);
    // dpemu ct prints the tables too.
    const ct = await runCli(['ct', cut]);
    expect(ct.code).toBe(1);
    expect(ct.out).toContain('ESTABLISHED src=10.244.1.5 dst=10.244.2.8 sport=52345 dport=8080');
  });

  it('exit codes agree with dpemu inspect: a file that is no capture is bad input (2), one damaged after its header 1', async () => {
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, '');
    const corpus = join(packageRoot(), 'test', 'fixtures', 'corpus');
    for (const [file, want] of [
      [empty, 2],
      [join(corpus, 'libpcap__tests_linktype-reserved-field-not-zero.pcap'), 1],
      [join(corpus, 'libpcap__tests_shb-option-too-long.pcapng'), 1],
    ] as const) {
      const replayed = await runCli(['replay', file]);
      const inspected = await runCli(['inspect', file]);
      expect([file, replayed.code, inspected.code]).toEqual([file, want, want]);
    }
  });

  it('--write-pcaps where no directory can be: exit 2 before replaying (nothing on stdout)', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const target of [file, join(file, 'below'), '/proc/dpemu-no-such-dir']) {
      const r = await runCli(['replay', '--write-pcaps', target]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^dpemu: --write-pcaps .*(is not a directory|cannot create it)/);
    }
  });

  it('--write-pcaps where a node\'s file cannot be (a directory in its place): exit 2 before replaying', async () => {
    const out = join(dir, 'pcaps-out');
    mkdirSync(join(out, 'node-2.pcapng'), { recursive: true });
    const r = await runCli(['replay', '--write-pcaps', out]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^dpemu: --write-pcaps .*: .*node-2\.pcapng is a directory/);
  });

  it('frames of a link type that does not carry them are dropped MALFORMED_FRAME with the parse error, never read as Ethernet', async () => {
    // The walk's Ethernet frames labelled raw IP (editcap -T rawip does this): every frame starts with a MAC, not an IP header.
    const raw = join(dir, 'rawip.pcap');
    const w = PcapWriter.toFile(raw, { linkType: 101 });
    const src = await openCapture(defaultCapturePath());
    let n = 0;
    for await (const b of src) for (let i = 0; i < b.count; i++, n++) w.writePacket(b.buf.subarray(b.offset[i], b.offset[i] + b.caplen[i]), b.tsSec[i], b.tsNsec[i]);
    await w.close();
    for (const engine of ['ts', 'native']) {
      const r = await runCli(['replay', raw, '--engine', engine]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`${n} frames replayed: ${n} packets ended, 0 forwarded, ${n} dropped`);
      expect(r.out.match(/\d+-byte frame of a link type without Ethernet  \[-\]  DROPPED MALFORMED_FRAME BAD_IP_VERSION at node-1 frame-input/g)?.length).toBe(n);
    }
  });

  it('a raw-IP frame longer than a packet slot (GRO) still becomes Ethernet and walks (a DF datagram over the tunnel MTU)', async () => {
    const big = join(dir, 'big-rawip.pcap');
    const w = PcapWriter.toFile(big, { linkType: 101 });
    const ip = buildFrame([{ type: 'ipv4', src: '10.244.1.5', dst: '10.244.3.9', df: true }, { type: 'udp', srcPort: 40000, dstPort: 9999 }], new Uint8Array(20000));
    w.writePacket(ip, 1, 0);
    await w.close();
    for (const engine of ['ts', 'native']) {
      const r = await runCli(['replay', big, '--engine', engine]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/10\.244\.1\.5:40000 -> 10\.244\.3\.9:9999 UDP .*DROPPED FRAG_NEEDED at node-1 ip4-forward/);
    }
  });

  it('a raw-IP frame attached with --at gets the MACs of that device (it walks as it does when found by source IP)', async () => {
    const raw = join(dir, 'at-rawip.pcap');
    const w = PcapWriter.toFile(raw, { linkType: 101 });
    w.writePacket(buildFrame([{ type: 'ipv4', src: '10.244.1.5', dst: '10.96.5.20' }, { type: 'tcp', srcPort: 50001, dstPort: 80, flags: 0x02 }]), 1, 0);
    await w.close();
    for (const engine of ['ts', 'native']) {
      for (const at of ['default/pod-a', 'node-1 cali5e1c4d6c68c']) {
        const r = await runCli(['replay', raw, '--at', at, '--engine', engine]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/TCP \[S\]  \[.*> backend-[ab]\]  FORWARDED/);
      }
    }
  });

  it('--at nonexistent: exit 2 listing the pods and nodes, nothing replayed', async () => {
    const r = await runCli(['replay', '--at', 'nonexistent']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/--at nonexistent: no pod, node or device of that name/);
    for (const p of ['default/pod-a', 'default/backend-a', 'default/backend-b', 'kube-system/coredns-0', 'node-1', 'node-2', 'node-3']) expect(r.err).toContain(p);
  });
});
