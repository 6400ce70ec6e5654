/**
 * `--flows-pb FILE`: the flows `--json` prints, as length-delimited observer.GetFlowsResponse protobuf.
 * The checks: golden wire bytes for one flow; the strict JSON->message conversion (every emitted line must
 * fit the schema); replays whose decoded messages equal their JSON lines; and protoc (Google's reference
 * implementation) decoding every message with the schema and encoding it back to the same bytes, so the
 * encoding is canonical and no byte is left to an unknown field.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DROP_REASONS } from '../../src/engine/drop-reasons.js';
import { decodeFlowResponses, encodeFlowResponse, FlowSchemaError } from '../../src/observe/flow-proto.js';
import { flowProtoFiles } from '../../src/observe/flow-schema.js';
import { runCli } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'dpemu-flows-pb-'));

const FLOW = {
  flow: {
    time: '2024-01-02T03:04:05.000123456Z', verdict: 'DROPPED', drop_reason: 133, drop_reason_desc: 'POLICY_DENIED',
    ethernet: { source: 'aa:bb:cc:dd:ee:ff', destination: '11:22:33:44:55:66' },
    IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 1234, destination_port: 80, flags: { SYN: true } } },
    Type: 'L3_L4', node_name: 'node-1', event_type: { type: 1, sub_type: 133 }, is_reply: false, Summary: 'x',
  },
  node_name: 'node-1',
  time: '2024-01-02T03:04:05.000123456Z',
};

/** Splits a delimited stream into its messages (varint length, then the bytes). */
function messages(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < buf.length) {
    let len = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++];
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    out.push(buf.subarray(i, i + len));
    i += len;
  }
  return out;
}

function protoc(args: string[], input: Uint8Array | string, cwd: string): Buffer {
  const r = spawnSync('protoc', args, { input, cwd, maxBuffer: 1 << 28 });
  if (r.error) throw new Error(`protoc is needed for this test: apt-get install protobuf-compiler (${r.error.message})`);
  expect(r.stderr.toString(), `protoc ${args.join(' ')}`).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/**
 * protoc decodes every message of `file` with the schema and encodes the text back: the bytes must come
 * back unchanged. The messages go in as the repeated field of one wrapper message, so one protoc call
 * takes them all.
 */
function protocRoundTrip(file: string, count: number): void {
  const dir = tmp();
  for (const f of flowProtoFiles(DROP_REASONS)) writeFileSync(join(dir, f.name), f.text);
  writeFileSync(join(dir, 'file.proto'), 'syntax = "proto3";\npackage dpemutest;\nimport "observer.proto";\nmessage File { repeated observer.GetFlowsResponse m = 1; }\n');
  const parts: Buffer[] = [];
  const msgs = messages(readFileSync(file));
  expect(msgs).toHaveLength(count);
  for (const m of msgs) {
    const head: number[] = [0x0a];
    let n = m.length;
    while (n >= 0x80) { head.push((n & 0x7f) | 0x80); n >>>= 7; }
    head.push(n);
    parts.push(Buffer.from(head), Buffer.from(m));
  }
  const wrapped = Buffer.concat(parts);
  const text = protoc(['--decode=dpemutest.File', 'file.proto'], wrapped, dir).toString();
  // Every field is a named one of the schema (protoc prints an unknown field by its number).
  expect(text).not.toMatch(/^\s*\d+:/m);
  expect(text.match(/^m \{$/gm)).toHaveLength(count);
  expect(protoc(['--encode=dpemutest.File', 'file.proto'], text, dir).equals(wrapped)).toBe(true);
}

async function replayBoth(args: string[]): Promise<{ lines: unknown[]; file: string; err: string }> {
  const file = join(tmp(), 'flows.pb');
  const r = await runCli([...args, '--json', '--flows-pb', file]);
  expect(r.code, r.err).toBe(0);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as unknown);
  return { lines, file, err: r.err };
}

describe('Hubble flows as protobuf', () => {
  it('golden bytes: one flow as Go marshals it (field order by number, proto3 defaults absent, BoolValue false as an empty message)', () => {
    expect(Buffer.from(encodeFlowResponse(FLOW)).toString('hex')).toBe(
      '9401' + '0a7c' +
        '0a0a08a5facdac0610c0c407' + // time {seconds 1704164645, nanos 123456}
        '1002' + '188501' + // verdict DROPPED, drop_reason 133
        '22260a1161613a62623a63633a64643a65653a6666121131313a32323a33333a34343a35353a3636' +
        '2a160a0831302e302e302e31120831302e302e302e321801' + // IP {source, destination, ipVersion IPv4}
        '320b0a0908d20910501a021001' + // l4 {TCP {1234, 80, flags {SYN}}}
        '5001' + '5a066e6f64652d31' + // Type L3_L4, node_name
        '9a01050801108501' + // event_type {1, 133}
        'c8018501' + 'd20100' + // drop_reason_desc POLICY_DENIED, is_reply {} (false)
        '82ea300178' + // Summary (field 100000)
        'c23e066e6f64652d31' + 'ca3e0a08a5facdac0610c0c407', // node_name 1000, time 1001
    );
    expect(decodeFlowResponses(encodeFlowResponse(FLOW))).toEqual([FLOW]);
  });

  it('a flow that does not fit the schema is an error naming the field, never a silent drop of it', () => {
    const bad = (mutate: (f: Record<string, unknown>) => void): unknown => {
      const copy = structuredClone(FLOW) as { flow: Record<string, unknown> };
      mutate(copy.flow);
      try {
        encodeFlowResponse(copy);
      } catch (e) {
        expect(e).toBeInstanceOf(FlowSchemaError);
        return (e as FlowSchemaError).message;
      }
      return 'encoded';
    };
    expect(bad((f) => { f.src = {}; })).toMatch(/GetFlowsResponse\.flow\.src: flow\.Flow has no field src/);
    expect(bad((f) => { f.verdict = 'ALLOWED'; })).toMatch(/flow\.verdict: Verdict has no value ALLOWED/);
    expect(bad((f) => { (f.l4 as { TCP: { source_port: unknown } }).TCP.source_port = '1234'; })).toMatch(/source_port: expected a uint32/);
    expect(bad((f) => { f.time = '2024-01-02 03:04:05'; })).toMatch(/flow\.time: expected an RFC 3339/);
    expect(bad((f) => { f.is_reply = 'yes'; })).toMatch(/is_reply: expected true or false/);
    expect(bad((f) => { f.drop_reason_desc = 220; })).toBe('encoded'); // dpemu's own reasons: numbers (open enum)
  });

  it('the bundled walk with --trace: one message per JSON line, equal to it, and protoc re-encodes every byte', async () => {
    const { lines, file, err } = await replayBoth(['replay', '--trace']);
    expect(lines.length).toBeGreaterThan(100);
    expect(decodeFlowResponses(readFileSync(file))).toEqual(lines);
    expect(err).toContain(`wrote ${file} (${lines.length} flows`);
    protocRoundTrip(file, lines.length);
  });

  it.each([
    ['eBPF Service walk', ['walk', '--scenario', join(ROOT, 'pcaps', 'scenarios', 'service-ebpf.yaml'), '--from', 'pod-a', '--to', 'backend', '--reply']],
    ['a node\'s packet to a VIP (FIB_LOOKUP_FAILED)', ['walk', '--scenario', join(ROOT, 'pcaps', 'scenarios', 'course-lab.yaml'), '--from', 'node-1', '--to', 'web', '--brief']],
    ['a policy drop (traffic_direction INGRESS)', ['walk', '--scenario', join(ROOT, 'pcaps', 'scenarios', 'course-lab.yaml'), '--from', 'client', '--to', 'web-55869b7ff4-5r44q', '--proto', 'icmp', '--brief']],
    ['a malformed corpus frame (dpemu\'s MALFORMED_FRAME, 220)', ['replay', join(ROOT, 'test', 'fixtures', 'corpus', 'tcpdump__LINKTYPE_IPV6_invalid.pcap'), '--at', 'default/pod-a']],
  ])('%s', async (_name, args) => {
    const { lines, file } = await replayBoth(args);
    expect(lines.length).toBeGreaterThan(0);
    expect(decodeFlowResponses(readFileSync(file))).toEqual(lines);
    protocRoundTrip(file, lines.length);
  });

  it('the text output is unchanged by --flows-pb, and a path that cannot be written is exit 2 before the replay', async () => {
    const file = join(tmp(), 'f.pb');
    const plain = await runCli(['replay']);
    const withPb = await runCli(['replay', '--flows-pb', file]);
    expect(withPb.out).toBe(plain.out);
    // Without --json stdout is the text output, so --stats stays there too (with --json it goes to stderr).
    const stats = await runCli(['replay', '--stats', '--flows-pb', file]);
    expect(stats.out).toMatch(/^Stage +Engine +Calls/m);
    expect(decodeFlowResponses(readFileSync(file))).toHaveLength(Number(/(\d+) packets ended/.exec(plain.out)![1]));
    const dir = tmp();
    mkdirSync(join(dir, 'taken'));
    const r = await runCli(['replay', '--flows-pb', join(dir, 'taken')]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/--flows-pb cannot write .*taken \(EISDIR.*\); name a writable file/);
  });
});
