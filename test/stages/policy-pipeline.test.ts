import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropReasonInfo } from '../../src/engine/drop-reasons.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { Harness } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';

/**
 * The course's policies (test/fixtures/policies) enforced in the pipeline, packet by packet, in
 * both models: kube-proxy ebpf mode (per-endpoint policy maps) and iptables mode (Calico-style
 * chains). Every pod-to-pod (and pod-to-world) row of the verdict tables must come out the same
 * in both, as a delivery or a POLICY_DENIED/POLICY_DENY drop; replies of an allowed flow pass as
 * established.
 */
const DIR = join(import.meta.dirname, '../fixtures/policies');

function rows(fx: string): string[][] {
  return readFileSync(join(DIR, `${fx}.verdicts.tsv`), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
}

function scenario(fx: string, mode: 'iptables' | 'ebpf'): string {
  const base = readFileSync(defaultScenarioPath(), 'utf8').replace(/mode: iptables/, `mode: ${mode}`);
  return `${base}\n---\n${readFileSync(join(DIR, `${fx}.yaml`), 'utf8')}`;
}

function l4(proto: string, port: number, sport: number) {
  if (proto === 'tcp') return [{ type: 'tcp' as const, srcPort: sport, dstPort: port, flags: 0x02, seq: 1000 }];
  if (proto === 'udp') return [{ type: 'udp' as const, srcPort: sport, dstPort: port }];
  return [{ type: 'icmp4' as const, icmpType: 8, id: sport, seq: 1 }];
}

for (const fx of ['three-tier', 'tenants', 'cilium']) {
  describe(`course policies ${fx} in the pipeline`, () => {
    for (const mode of ['iptables', 'ebpf'] as const) {
      it(`${mode} mode: every pod-sent row gives the table's verdict`, () => {
        const h = new Harness({ scenario: scenario(fx, mode), tracing: true });
        let sport = 41000;
        const checked: string[] = [];
        for (const [src, dst, proto, port, want] of rows(fx)) {
          if (src.startsWith('world:') || want === 'REDIRECT' || want === 'AUDIT') continue;
          const from = h.pod(src);
          const to = dst.startsWith('world:') ? dst.slice(6) : h.pod(dst).ip;
          const out = h.one(podFrame(h, from.name, to, l4(proto, Number(port), sport++)));
          const first = out.results.find((r) => !r.generated)!;
          const where = `${src} -> ${dst} ${proto}/${port}`;
          if (want === 'ALLOW') {
            // A pod destination is delivered; a world address leaves the cluster (no route out in these
            // scenarios may drop it later), but never by policy.
            if (!dst.startsWith('world:')) expect(first.verdict, `${where}: ${dropReasonInfo(first.drop).name}`).toBe(1);
            else expect(['POLICY_DENIED', 'POLICY_DENY'], where).not.toContain(dropReasonInfo(first.drop).name);
            expect(out.traces.some((t) => t.stage.startsWith('policy4') && t.decision.startsWith('drop POLICY')), where).toBe(false);
          } else {
            expect(first.verdict, where).toBe(2);
            expect(['POLICY_DENIED', 'POLICY_DENY'], where).toContain(dropReasonInfo(first.drop).name);
            expect(out.traces.some((t) => t.stage.startsWith('policy4') && t.decision.startsWith('drop POLICY')), where).toBe(true);
          }
          checked.push(where);
        }
        expect(checked.length).toBeGreaterThan(3);
      });
    }
  });
}

describe('policy is decided on the first packet and cached through conntrack', () => {
  it('the reply of an allowed flow passes as established; its trace names the model', () => {
    for (const mode of ['iptables', 'ebpf'] as const) {
      const h = new Harness({ scenario: scenario('three-tier', mode), tracing: true });
      const fe = h.pod('shop/frontend-0');
      const be = h.pod('shop/backend-0');
      const syn = h.one(podFrame(h, fe.name, be.ip, [{ type: 'tcp', srcPort: 45000, dstPort: 8080, flags: 0x02, seq: 1 }]));
      expect(syn.results[0].verdict).toBe(1);
      const decisions = syn.traces.filter((t) => t.stage.startsWith('policy4') && t.decision !== 'because');
      expect(decisions.map((t) => t.point)).toEqual([`policy (${mode})`, `policy (${mode})`]);
      // Each decision is followed by its evidence (policy/explain.ts; test/policy/explain-trace.test.ts).
      expect(syn.traces.filter((t) => t.stage.startsWith('policy4') && t.decision === 'because').length).toBeGreaterThan(2);
      const synAck = h.one(podFrame(h, be.name, fe.ip, [{ type: 'tcp', srcPort: 8080, dstPort: 45000, flags: 0x12, seq: 9, ack: 2 }]));
      expect(synAck.results[0].verdict, mode).toBe(1);
      // Established: no new policy decision for the reply.
      expect(synAck.traces.some((t) => t.stage.startsWith('policy4'))).toBe(false);
    }
  });
});

/** web-0 -> api-0:8080 of the cilium fixture: the handshake (its SYN redirected to the proxy), then `GET path`. */
function proxiedRequest(h: Harness, path: string) {
  const web = h.pod('app/web-0');
  const api = h.pod('app/api-0');
  const syn = h.one(podFrame(h, web.name, api.ip, [{ type: 'tcp', srcPort: 46000, dstPort: 8080, flags: 0x02, seq: 100 }]));
  expect(syn.traces.some((t) => t.decision.startsWith('REDIRECT to proxy port'))).toBe(true);
  h.one(podFrame(h, api.name, web.ip, [{ type: 'tcp', srcPort: 8080, dstPort: 46000, flags: 0x12, seq: 500, ack: 101 }]));
  h.one(podFrame(h, web.name, api.ip, [{ type: 'tcp', srcPort: 46000, dstPort: 8080, flags: 0x10, seq: 101, ack: 501 }]));
  const req = new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: api\r\n\r\n`);
  return { web, api, out: h.one(podFrame(h, web.name, api.ip, [{ type: 'tcp', srcPort: 46000, dstPort: 8080, flags: 0x18, seq: 101, ack: 501 }], req)) };
}

describe('L7 rules (CiliumNetworkPolicy rules.http): the first request goes through the proxy', () => {
  for (const mode of ['iptables', 'ebpf'] as const) {
    it(`${mode}: GET /public/... passes, GET /admin is answered 403 by the proxy and dropped`, () => {
      const verdicts: Record<string, number> = {};
      for (const path of ['/public/index.html', '/admin']) {
        const h = new Harness({ scenario: scenario('cilium', mode), tracing: true });
        const { web, api, out } = proxiedRequest(h, path);
        const first = out.results.find((r) => !r.generated)!;
        verdicts[path] = first.verdict;
        if (path === '/admin') {
          expect(dropReasonInfo(first.drop).name).toBe('POLICY_DENIED');
          const reply = out.results.find((r) => r.generated)!;
          expect(reply.verdict).toBe(1);
          expect(reply.info.src).toBe(api.ip);
          expect(reply.info.dst).toBe(web.ip);
          expect(reply.info.sport).toBe(8080);
          // Delivered to web-0 carrying Envoy's 403.
          const atWeb = out.frames.filter((f) => f.device === h.device('app/web-0').id && f.dir === 0);
          const text = new TextDecoder().decode(atWeb[atWeb.length - 1].bytes);
          expect(text).toContain('HTTP/1.1 403 Forbidden\r\n');
          expect(text).toContain('Access denied');
          expect(out.traces.some((t) => t.decision.startsWith('L7 DENY'))).toBe(true);
        } else {
          expect(out.traces.some((t) => t.decision === 'L7 ALLOW')).toBe(true);
        }
      }
      expect(verdicts).toEqual({ '/public/index.html': 1, '/admin': 2 });
    });
  }
});

describe('an L4 rule for the same port wildcards the L7 rules (Cilium\'s L4 filter merge)', () => {
  // Cilium docs, Layer 7 policies: "If a layer 4 rule is specified in the policy, and a similar layer 4 rule with
  // layer 7 rules is also specified, then the layer 7 portions of the latter rule will have no effect."
  const plainL4 = `---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: api-l4, namespace: app }
spec:
  endpointSelector: { matchLabels: { app: api } }
  ingress:
    - fromEndpoints: [{ matchLabels: { app: web } }]
      toPorts: [{ ports: [{ port: "8080", protocol: TCP }] }]
`;
  for (const mode of ['iptables', 'ebpf'] as const) {
    it(`${mode}: GET /admin, which api-l7 alone answers 403, passes through the proxy`, () => {
      const h = new Harness({ scenario: `${scenario('cilium', mode)}\n${plainL4}`, tracing: true });
      const { out } = proxiedRequest(h, '/admin');
      expect(out.results.find((r) => !r.generated)!.verdict).toBe(1);
      expect(out.traces.some((t) => t.decision === 'L7 ALLOW')).toBe(true);
    });
  }
});

describe('policy enforcement and audit modes (spec.policy)', () => {
  const withPolicy = (fx: string, mode: 'iptables' | 'ebpf', policy: string): string =>
    scenario(fx, mode).replace(/kind: Cluster\n([\s\S]*?)spec:\n/, (m) => `${m}  policy: ${policy}\n`);

  for (const mode of ['iptables', 'ebpf'] as const) {
    it(`${mode}: audit passes what would be dropped, with an AUDIT trace`, () => {
      const h = new Harness({ scenario: withPolicy('three-tier', mode, '{audit: true}') });
      expect(h.cluster.policy).toEqual({ enforcement: 'default', audit: true });
      const out = h.one(podFrame(h, 'shop/frontend-0', h.pod('shop/db-0').ip, l4('tcp', 5432, 47000)));
      expect(out.results[0].verdict).toBe(1);
      expect(out.traces.some((t) => t.decision.startsWith('AUDIT'))).toBe(true);
    });

    it(`${mode}: enforcement never lets everything pass; always denies pods no policy selects`, () => {
      const never = new Harness({ scenario: withPolicy('three-tier', mode, '{enforcement: never}') });
      expect(never.one(podFrame(never, 'shop/frontend-0', never.pod('shop/db-0').ip, l4('tcp', 5432, 47001))).results[0].verdict).toBe(1);
      const always = new Harness({ scenario: withPolicy('three-tier', mode, '{enforcement: always}') });
      const r = always.one(podFrame(always, 'default/pod-a', always.pod('default/backend-a').ip, l4('tcp', 8080, 47002))).results[0];
      expect(r.verdict).toBe(2);
      expect(dropReasonInfo(r.drop).name).toBe('POLICY_DENIED');
    });
  }
});
