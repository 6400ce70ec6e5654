import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadScenario, type Cluster } from '../../src/scenario/index.js';
import { ok } from './helpers.js';

const CLUSTER = `apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: det}
spec:
  nodes:
    - {name: n1, ip: 10.0.0.1, podCIDR: 10.244.1.0/24}
    - {name: n2, ip: 10.0.0.2, podCIDR: 10.244.2.0/24}
`;

/** Pods with and without addresses on both nodes, Services with and without ClusterIPs, one explicit slice. */
function documents(): string[] {
  const docs = [CLUSTER];
  const names = ['web-a', 'web-b', 'api', 'db', 'cache', 'worker-1', 'worker-2', 'job'];
  names.forEach((n, i) => {
    const ns = i % 3 === 0 ? 'prod' : 'default';
    const ip = i % 4 === 1 ? `\nstatus: {podIP: 10.244.${(i % 2) + 1}.${3 + i}}` : '';
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${n}, namespace: ${ns}, labels: {app: ${n.split('-')[0]}}}\n` +
        `spec:\n  nodeName: n${(i % 2) + 1}\n  containers: [{name: c, ports: [{name: http, containerPort: ${8000 + i}}]}]${ip}`,
    );
  });
  for (const [ns, app, vip] of [['default', 'web', ''], ['prod', 'web', ''], ['default', 'api', '10.96.0.2'], ['prod', 'db', ''], ['default', 'cache', '']]) {
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${app}, namespace: ${ns}}\nspec:\n  type: NodePort\n  selector: {app: ${app}}\n` +
        `  ports: [{name: http, port: 80, targetPort: http}]${vip ? `\n  clusterIP: ${vip}` : ''}`,
    );
  }
  // Workload pods: their names and addresses must not depend on document order either.
  docs.push('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: webd}}\n  template: {metadata: {labels: {app: webd}}, spec: {containers: [{name: c}]}}');
  docs.push('apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: dbs}}\n  template: {metadata: {labels: {app: dbs}}, spec: {nodeName: n2, containers: [{name: c}]}}');
  return docs;
}

function model(c: Cluster): Omit<Cluster, 'warnings'> {
  const { warnings: _w, ...rest } = c;
  return rest;
}

describe('determinism', () => {
  const docs = documents();
  const reference = ok(loadScenario([{ name: 'one.yaml', text: docs.join('\n---\n') }]));

  it('the reference scenario exercises allocation', () => {
    expect(reference.pods.filter((p) => p.ipAllocated).length).toBeGreaterThan(3);
    expect(reference.services.filter((s) => s.clusterIpAllocated).length).toBe(4);
    expect(reference.endpointSlices.length).toBeGreaterThan(3);
  });

  it('gives the same model whatever the document order and file split', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(docs, { minLength: docs.length, maxLength: docs.length }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: docs.length, maxLength: docs.length }),
        (order, fileOf) => {
          const files = [0, 1, 2]
            .map((f) => ({ name: `f${f}.yaml`, text: order.filter((_, i) => fileOf[i] === f).join('\n---\n') }))
            .filter((f) => f.text !== '');
          const c = ok(loadScenario(files));
          expect(model(c)).toEqual(model(reference));
          expect(c.warnings).toHaveLength(reference.warnings.length);
        },
      ),
      { numRuns: 60, seed: 20261122 },
    );
  });

  it('allocations do not depend on the order inside one file either (a changed order would fail)', () => {
    const reversed = ok(loadScenario([{ name: 'r.yaml', text: [...docs].reverse().join('\n---\n') }]));
    expect(reversed.pods.map((p) => `${p.namespace}/${p.name}=${p.ip}`)).toEqual(
      reference.pods.map((p) => `${p.namespace}/${p.name}=${p.ip}`),
    );
    expect(reversed.services.map((s) => `${s.clusterIp}:${s.ports[0].nodePort}`)).toEqual(
      reference.services.map((s) => `${s.clusterIp}:${s.ports[0].nodePort}`),
    );
  });
});
