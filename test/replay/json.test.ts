/**
 * `dpemu replay --json` (and `--json --trace`) of the bundled walk: every line is a
 * `hubble observe -o jsonpb` object with flow.proto's field names (cilium api/v1/flow/flow.proto:
 * Flow.time, verdict, drop_reason_desc, ethernet, IP, l4, source, destination, Type, node_name,
 * event_type, trace_observation_point, interface, Summary).
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../helpers/cli.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  expect(v).toBeTypeOf('object');
  expect(v).not.toBeNull();
  return v as Json;
};

/** Field names flow.proto defines for the messages dpemu writes (proto names, as jsonpb with UseProtoNames). */
const FLOW_FIELDS = new Set(['time', 'verdict', 'drop_reason', 'drop_reason_desc', 'ethernet', 'IP', 'l4', 'source', 'destination', 'Type', 'node_name', 'event_type', 'traffic_direction', 'trace_observation_point', 'interface', 'is_reply', 'Summary']);
const ENDPOINT_FIELDS = new Set(['ID', 'identity', 'cluster_name', 'namespace', 'labels', 'pod_name']);
const TCP_FLAGS = new Set(['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS']);
const POINTS = ['FROM_ENDPOINT', 'TO_ENDPOINT', 'FROM_STACK', 'TO_STACK', 'TO_OVERLAY', 'FROM_OVERLAY', 'TO_NETWORK', 'FROM_NETWORK'];
const RFC3339_NS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

function checkFlowLine(line: string): Json {
  const top = obj(JSON.parse(line));
  expect(Object.keys(top).sort()).toEqual(['flow', 'node_name', 'time']);
  const flow = obj(top.flow);
  for (const k of Object.keys(flow)) expect(FLOW_FIELDS, `flow field ${k}`).toContain(k);
  expect(flow.time).toMatch(RFC3339_NS);
  expect(top.time).toBe(flow.time);
  expect(top.node_name).toBe(flow.node_name);
  expect(flow.node_name).toMatch(/^node-\d$/);
  expect(flow.Type).toBe('L3_L4');
  expect(['FORWARDED', 'DROPPED', 'TRACED']).toContain(flow.verdict);
  const eth = obj(flow.ethernet);
  expect(eth.source).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  expect(eth.destination).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  const ipl = obj(flow.IP);
  expect(ipl.ipVersion).toBe('IPv4');
  expect(ipl.source).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  expect(ipl.destination).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  // A non-first fragment carries no L4 header, so no l4 (as Hubble shows it); on the underlay the
  // IP/l4 fields are the outer VXLAN packet's (node to node, UDP) while Summary names the inner one.
  if (/ IP fragment$/.test(String(flow.Summary)) && !String(ipl.source).startsWith('10.0.1.')) {
    expect(flow.l4).toBeUndefined();
    return finish(flow);
  }
  const l4 = obj(flow.l4);
  expect(Object.keys(l4)).toHaveLength(1);
  const [proto] = Object.keys(l4);
  expect(['TCP', 'UDP', 'ICMPv4']).toContain(proto);
  const l = obj(l4[proto]);
  if (proto === 'ICMPv4') {
    // protojson leaves a field at its proto3 default out: an echo request is {type: 8}, an echo reply {}.
    for (const k of Object.keys(l)) expect(['code', 'type']).toContain(k);
    for (const v of Object.values(l)) expect(v).not.toBe(0);
  }
  else {
    expect(l.source_port).toBeTypeOf('number');
    expect(l.destination_port).toBeTypeOf('number');
    if (proto === 'TCP') for (const f of Object.keys(obj(l.flags))) expect(TCP_FLAGS).toContain(f);
  }
  return finish(flow);
}

function finish(flow: Json): Json {
  for (const side of ['source', 'destination']) {
    const ep = obj(flow[side]);
    for (const k of Object.keys(ep)) expect(ENDPOINT_FIELDS, `endpoint field ${k}`).toContain(k);
    expect(ep.identity).toBeTypeOf('number');
    expect(Array.isArray(ep.labels)).toBe(true);
    if (ep.pod_name !== undefined) expect(ep.namespace).toBeTypeOf('string');
  }
  expect(obj(flow.event_type).type).toBeTypeOf('number');
  expect(obj(flow.interface).name).toBeTypeOf('string');
  expect(flow.Summary).toBeTypeOf('string');
  if (flow.verdict === 'DROPPED') {
    expect(flow.drop_reason_desc).toBeDefined();
    expect(flow.trace_observation_point).toBeUndefined();
    expect(obj(flow.event_type).type).toBe(1);
  } else {
    expect(POINTS).toContain(flow.trace_observation_point);
    expect(obj(flow.event_type).type).toBe(4);
  }
  return flow;
}

let json: CliRun;
let traced: CliRun;

beforeAll(async () => {
  json = await runCli(['replay', '--json']);
  traced = await runCli(['replay', '--json', '--trace']);
});

const lines = (r: CliRun): string[] => r.out.split('\n').filter((l) => l !== '');

describe('dpemu replay --json', () => {
  it('exits 0 with only JSON on stdout, one line per packet that ended', () => {
    expect(json.code).toBe(0);
    expect(json.err).toBe('');
    // 19 frames: 22 packets end (an ICMP error, fragments), as the text output counts them.
    expect(lines(json)).toHaveLength(22);
  });

  it('with --stats and --dump ct, stdout is still only the flows; the tables go to stderr', async () => {
    const r = await runCli(['replay', '--json', '--stats', '--dump', 'ct']);
    expect(r.code).toBe(0);
    expect(lines(r)).toHaveLength(22);
    for (const l of lines(r)) checkFlowLine(l);
    expect(r.err).toMatch(/^Stage +Engine +Calls/m);
    expect(r.err).toMatch(/^# node node-1: conntrack -L \(\d+ flow entries\)$/m);
  });

  it('every line has the Hubble jsonpb shape with flow.proto field names', () => {
    const flows = lines(json).map(checkFlowLine);
    const first = flows[0];
    expect(first).toMatchObject({
      verdict: 'FORWARDED',
      IP: { source: '10.244.1.5', destination: '10.244.2.8', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 52345, destination_port: 8080, flags: { SYN: true } } },
      source: { namespace: 'default', pod_name: 'pod-a', labels: expect.arrayContaining(['k8s:app=client']) },
      destination: { namespace: 'default', pod_name: 'backend-a' },
      node_name: 'node-2',
      trace_observation_point: 'TO_ENDPOINT',
      interface: { name: 'eth0' },
    });
    expect(first.Summary).toMatch(/^frame 1: 10\.244\.1\.5:52345 -> 10\.244\.2\.8:8080 TCP \[S\]$/);
  });

  it('the DF echo is DROPPED at node-1 with drop_reason_desc (dpemu-only reason: by number, 221)', () => {
    const drops = lines(json).map(checkFlowLine).filter((f) => f.verdict === 'DROPPED');
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatchObject({ node_name: 'node-1', drop_reason: 221, drop_reason_desc: 221, l4: { ICMPv4: { type: 8 } } });
    expect(obj(drops[0].l4).ICMPv4).toEqual({ type: 8 }); // code 0 left out, as protojson does
    expect(drops[0].Summary).toMatch(/dropped: FRAG_NEEDED/);
  });
});

describe('dpemu replay --json --trace', () => {
  it('adds one line per hop, each with the observation point of docs/datapath.md', () => {
    expect(traced.code).toBe(0);
    const flows = lines(traced).map(checkFlowLine);
    expect(flows.length).toBeGreaterThan(lines(json).length * 3);
    const frame1 = flows.filter((f) => /^frame 1: /.test(String(f.Summary)));
    // Eight devices crossed, then the final event.
    expect(frame1.map((f) => [f.node_name, f.trace_observation_point, obj(f.interface).name])).toEqual([
      ['node-1', 'FROM_ENDPOINT', 'eth0'],
      ['node-1', 'TO_STACK', 'cali5e1c4d6c68c'],
      ['node-1', 'TO_OVERLAY', 'flannel.1'],
      ['node-1', 'TO_NETWORK', 'eth0'],
      ['node-2', 'FROM_NETWORK', 'eth0'],
      ['node-2', 'FROM_OVERLAY', 'flannel.1'],
      ['node-2', 'FROM_STACK', 'calif1461740ce1'],
      ['node-2', 'TO_ENDPOINT', 'eth0'],
      ['node-2', 'TO_ENDPOINT', 'eth0'],
    ]);
    // On the underlay the hop shows the outer packet: node-1 -> node-2 over UDP 8472.
    expect(frame1[3]).toMatchObject({ IP: { source: '10.0.1.5', destination: '10.0.1.6' }, l4: { UDP: { destination_port: 8472 } } });
    const points = new Set(flows.map((f) => f.trace_observation_point).filter((p) => p !== undefined));
    expect([...points].sort()).toEqual([...POINTS].sort());
  });
});

describe('traffic_direction', () => {
  const LAB = join(import.meta.dirname, '..', '..', 'pcaps', 'scenarios', 'course-lab.yaml');
  it('a policy drop says which policy direction denied it (Cilium\'s drop notification); no other event has one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-json-'));
    const noEgress = join(dir, 'no-egress.yaml');
    writeFileSync(noEgress, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: client-no-egress, namespace: default}\nspec:\n  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n');
    const egress = await runCli(['walk', '--scenario', LAB, '--scenario', noEgress, '--from', 'client', '--to', 'web', '--brief', '--json']);
    const ingress = await runCli(['walk', '--scenario', LAB, '--from', 'client', '--to', 'web-55869b7ff4-5r44q', '--proto', 'icmp', '--brief', '--json']);
    const [e] = lines(egress).map(checkFlowLine);
    const [i] = lines(ingress).map(checkFlowLine);
    expect([e.drop_reason_desc, e.node_name, e.traffic_direction]).toEqual(['POLICY_DENIED', 'node-1', 'EGRESS']);
    expect([i.drop_reason_desc, i.node_name, i.traffic_direction]).toEqual(['POLICY_DENIED', 'node-2', 'INGRESS']);
    // The FRAG_NEEDED drop and every trace event: no direction.
    for (const f of [...lines(json), ...lines(traced)].map((l) => obj(JSON.parse(l)).flow)) expect(obj(f).traffic_direction).toBeUndefined();
  });
});
