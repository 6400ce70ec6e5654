/**
 * A trace says why conntrack judged a TCP packet INVALID or let it through unchanged, in the kernel's words
 * (nf_ct_l4proto_log_invalid: what dmesg shows with nf_conntrack_log_invalid set), and the drop that follows.
 */
import { describe, expect, it } from 'vitest';
import { Harness } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';

const F = { SYN: 2, ACK: 16, PSH: 8 } as const;

describe('conntrack INVALID / ignored TCP packets in traces', () => {
  it('pod-a -> backend-b: an ACK of unseen data is INVALID with its bound, then KUBE-FORWARD drops it; an old segment is let through unchanged', () => {
    const h = new Harness();
    const b = h.pod('backend-b').ip;
    const a = h.pod('pod-a').ip;
    const tcp = (from: string, dst: string, sport: number, dport: number, flags: number, seq: number, ack: number, len = 0) =>
      h.one(podFrame(h, from, dst, [{ type: 'tcp', srcPort: sport, dstPort: dport, flags, seq, ack, window: 64240 }], new Uint8Array(len).fill(0x61)));
    tcp('pod-a', b, 41000, 8080, F.SYN, 1000, 0);
    tcp('backend-b', a, 8080, 41000, F.SYN | F.ACK, 5000, 1001);
    tcp('pod-a', b, 41000, 8080, F.ACK, 1001, 5001);
    // The client acknowledges 1000 bytes backend-b never sent: bound III.
    const bad = tcp('pod-a', b, 41000, 8080, F.ACK, 1001, 6001);
    const invalid = bad.traces.find((t) => t.stage === 'nf4-prerouting' && t.decision === 'INVALID');
    expect(invalid?.detail).toMatch(/^10\.244\.1\.5:41000 > 10\.244\.3\.9:8080 ACK is over upper bound 5002 \(ACKed data not seen yet\)$/);
    expect(bad.results[0]).toMatchObject({ verdict: 2, stage: 'nf4-forward' });
    // A segment entirely below what backend-b already acknowledged (bound II): let through, the entry unchanged.
    tcp('pod-a', b, 41000, 8080, F.PSH | F.ACK, 1001, 5001, 100);
    tcp('backend-b', a, 8080, 41000, F.ACK, 5001, 1101);
    const old = tcp('pod-a', b, 41000, 8080, F.PSH | F.ACK, 1001 - 70000, 5001, 10);
    const ignored = old.traces.find((t) => t.stage === 'nf4-prerouting' && t.decision === 'ESTABLISHED');
    expect(ignored?.detail).toMatch(/\(let through unchanged: SEQ is under lower bound \d+ \(already ACKed data retransmitted\)\)$/);
    expect(old.results[0]!.verdict).toBe(1);
  });
});
