/**
 * Serving terminating backends in eBPF mode: Cilium's BPF reconciler sets a frontend's backend count to its
 * active backends and, when none is active, to the terminating ones (KEP-1669), so a Service whose pods are all
 * shutting down gracefully still load-balances to them instead of answering "no backend".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EbpfNodeState, SOCK_NEW, SOCK_NO_BACKEND, SockLbResult } from '../../src/ebpf/state.js';
import { lb4BackendKeyV1, lb4BackendV1 } from '../../src/maps/cilium-layouts.js';
import { loadScenarioText, packageRoot } from '../../src/scenario/index.js';
import type { Cluster } from '../../src/scenario/model.js';
import { ip } from '../helpers/dataplane-harness.js';

const ebpfYaml = readFileSync(join(packageRoot(), 'pcaps/scenarios/ebpf.yaml'), 'utf8');

function cluster(extraSpec: string, endpoints: string): Cluster {
  const r = loadScenarioText(`${ebpfYaml}
---
apiVersion: v1
kind: Service
metadata: { name: drain, namespace: default }
spec:
  clusterIP: 10.96.12.12
${extraSpec}  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: drain-abcde, namespace: default, labels: { kubernetes.io/service-name: drain } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
${endpoints}`, 'ebpf.yaml');
  if (!r.ok) throw r.error;
  return r.cluster;
}

const TERMINATING = `  - { addresses: [10.244.2.60], nodeName: node-2, conditions: { ready: false, serving: true, terminating: true } }
  - { addresses: [10.244.3.60], nodeName: node-3, conditions: { ready: false, serving: false, terminating: true } }
`;
const READY_ON_NODE_3 = '  - { addresses: [10.244.3.61], nodeName: node-3 }\n';

/** Backend addresses a connect() from node `n`'s pod to the drain Service can reach (over many source ports). */
function reachable(c: Cluster, n: number): string[] {
  const st = new EbpfNodeState(c, c.nodes[n]);
  const r = new SockLbResult();
  const seen = new Set<string>();
  for (let p = 40000; p < 40064; p++) {
    const how = st.connect(ip('10.244.1.5'), p, ip('10.96.12.12'), 80, 6, 1, r);
    if (how === SOCK_NO_BACKEND) return ['no backend'];
    expect(how).toBe(SOCK_NEW);
    const off = st.backends.lookup(lb4BackendKeyV1.encode({ backend_id: r.backendId }));
    const be = lb4BackendV1.decode(st.backends.bytes, off);
    seen.add(`${[24, 16, 8, 0].map((s) => (be.address >>> s) & 255).join('.')}:${be.port}`);
  }
  return [...seen].sort();
}

describe('eBPF mode: serving terminating backends', () => {
  it('no ready backend: the serving terminating one is load-balanced to (not the non-serving one)', () => {
    expect(reachable(cluster('', TERMINATING), 0)).toEqual(['10.244.2.60:8080']);
  });

  it('a ready backend wins: terminating ones get no new connections', () => {
    expect(reachable(cluster('', TERMINATING + READY_ON_NODE_3), 0)).toEqual(['10.244.3.61:8080']);
  });

  it('internalTrafficPolicy Local falls back per scope: node-2 uses its own serving terminating backend', () => {
    const c = cluster('  internalTrafficPolicy: Local\n', TERMINATING + READY_ON_NODE_3);
    expect(reachable(c, 1)).toEqual(['10.244.2.60:8080']);
    expect(reachable(c, 2)).toEqual(['10.244.3.61:8080']);
    expect(reachable(c, 0)).toEqual(['no backend']);
  });

  it('sessionAffinity does not stick to terminating fallback backends (Cilium writes affinity matches for active ones only)', () => {
    const two = `  - { addresses: [10.244.2.60], nodeName: node-2, conditions: { ready: false, serving: true, terminating: true } }
  - { addresses: [10.244.2.61], nodeName: node-2, conditions: { ready: false, serving: true, terminating: true } }
`;
    const affinity = '  sessionAffinity: ClientIP\n  sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } }\n';
    const picks = (c: Cluster): { ids: Set<number>; byAffinity: number } => {
      const st = new EbpfNodeState(c, c.nodes[0]);
      const r = new SockLbResult();
      const ids = new Set<number>();
      let byAffinity = 0;
      for (let p = 41000; p < 41040; p++) {
        st.connect(ip('10.244.1.5'), p, ip('10.96.12.12'), 80, 6, 1, r);
        ids.add(r.backendId);
        if (r.via === 1) byAffinity++;
      }
      return { ids, byAffinity };
    };
    const draining = picks(cluster(affinity, two));
    expect(draining.byAffinity).toBe(0);
    expect(draining.ids.size).toBe(2);
    // The same two backends ready: every connection after the first follows the client's affinity entry.
    const ready = picks(cluster(affinity, '  - { addresses: [10.244.2.60], nodeName: node-2 }\n  - { addresses: [10.244.2.61], nodeName: node-2 }\n'));
    expect(ready.byAffinity).toBe(39);
    expect(ready.ids.size).toBe(1);
  });

  it('neither ready nor serving: no backend, as before', () => {
    const only = '  - { addresses: [10.244.3.60], nodeName: node-3, conditions: { ready: false, serving: false, terminating: true } }\n';
    expect(reachable(cluster('', only), 0)).toEqual(['no backend']);
  });
});
