/**
 * How the replay groups frames into vectors (src/replay/replay.ts `batching`). By default each frame runs to
 * completion alone, as the kernel runs each packet: its own time, its random draws and its conntrack entries in
 * frame order. `answers` batches frames (cut only before an answer to one in the vector, flow-cut.ts) for the
 * engine's throughput, and then frames of one vector may see each other's state differently than the kernel.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter, openCapture } from '../../src/capture/index.js';
import { buildFrame } from '../../src/packet/build.js';
import { TcpFlag } from '../../src/packet/view.js';
import { replay } from '../../src/replay/replay.js';
import { defaultScenarioPath, packageRoot, type Cluster } from '../../src/scenario/index.js';
import { scenarioCluster } from '../helpers/capture-files.js';
import { digest, newDataplane } from '../native/parity-helpers.js';

const root = packageRoot();
const tmp = mkdtempSync(join(tmpdir(), 'dpemu-batching-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(capture: string, c: Cluster, batching?: 'exact' | 'answers') {
  const { dp, rec, cap } = newDataplane(c, 'ts', 256);
  const sum = await replay({ capture, cluster: c, ...(batching === undefined ? {} : { batching }) }, dp);
  const d = digest(dp, rec, cap);
  const byFrame = d.results.map((r) => [Number(/#(\d+)/.exec(r)![1]), r] as const).sort((a, b) => a[0] - b[0]);
  return { sum, d, verdicts: byFrame.map(([, r]) => /v(\d) d(\d+)/.exec(r)!.slice(1).join('/')) };
}

describe('replay batching', () => {
  it('by default a vector holds one frame (the walk: 19 frames, 19 vectors); batched, fewer', async () => {
    const c = scenarioCluster(defaultScenarioPath());
    const walk = join(root, 'pcaps/default/walk.pcapng');
    const exact = await run(walk, c);
    expect(exact.sum.vectors).toBe(exact.sum.frames);
    const batched = await run(walk, c, 'answers');
    // The walk is one conversation after another, so answers cut most vectors: 13 for 19 frames.
    expect(batched.sum.vectors).toBeLessThan(batched.sum.frames);
  });

  it('a mid-stream pickup: frame by frame the data and the FIN follow the ACK\'s entry; batched, the FIN meets it unconfirmed', async () => {
    // backend-b answers a connection dpemu never saw (as in the Service walk's frames 14-16), all at one instant.
    const c = scenarioCluster(join(root, 'pcaps/kernel/service/scenario.yaml'));
    const b = c.pods.find((p) => p.name === 'backend-b')!;
    const node = c.nodes.find((n) => n.name === b.nodeName)!;
    const tcp = (flags: number, seq: number, payload = 0) =>
      buildFrame([{ type: 'eth', src: b.mac, dst: 'ee:ee:ee:ee:ee:ee' }, { type: 'ipv4', src: b.ip, dst: '10.244.1.0' },
        { type: 'tcp', srcPort: 8080, dstPort: 26568, seq, ack: 7, flags }], new Uint8Array(payload));
    const w = new PcapWriter({ linkType: 1 } as never);
    for (const f of [tcp(TcpFlag.ACK, 100), tcp(TcpFlag.ACK | TcpFlag.PSH, 100, 20), tcp(TcpFlag.ACK | TcpFlag.FIN, 120)]) w.writePacket(f, 1_700_000_000, 0);
    const file = join(tmp, 'pickup.pcap');
    writeFileSync(file, w.toBuffer());
    const exact = await run(file, c);
    expect(exact.verdicts).toEqual(['1/0', '1/0', '1/0']);
    expect(exact.d.conntrack.find((t) => t.startsWith(node.name))).toMatch(/tcp +6 \d+ (CLOSE_WAIT|LAST_ACK|FIN_WAIT) src=10\.244\.3\.9 dst=10\.244\.1\.0 sport=8080 dport=26568/);
    const batched = await run(file, c, 'answers');
    expect(batched.sum.vectors).toBe(1);
    expect(batched.verdicts).toEqual(['1/0', '1/0', '2/228']); // CT_INVALID at node-3's KUBE-FORWARD
  });
});

describe('the answer rule sees through VXLAN', () => {
  it('underlay frames at one instant: a VXLAN packet answering the flow another one carries starts a new vector', async () => {
    // node-2's eth0 in the kernel's pod-to-pod run: pod-a's TCP connection to backend-a, both directions
    // VXLAN-encapsulated, with different outer source ports (the outer flows do not answer each other).
    const c = scenarioCluster(defaultScenarioPath());
    const stream = await openCapture(join(root, 'pcaps/kernel/pod-to-pod/node-2.eth0.pcap'));
    const w = new PcapWriter({ linkType: 1 } as never);
    try {
      for await (const b of stream) for (let i = 0; i < b.count; i++) w.writePacket(b.buf.slice(b.offset[i], b.offset[i]! + b.caplen[i]!), 1_700_000_000, 0);
    } finally {
      await stream.close();
    }
    const file = join(tmp, 'underlay-instant.pcap');
    writeFileSync(file, w.toBuffer());
    const exact = await run(file, c);
    const batched = await run(file, c, 'answers');
    expect(batched.sum.vectors).toBeLessThan(batched.sum.frames);
    expect(batched.verdicts).toEqual(exact.verdicts);
  });
});
