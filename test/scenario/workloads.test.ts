/**
 * Workload controllers make pods (src/scenario/workloads.ts): a course file with a Deployment, a Service and a
 * NetworkPolicy replays without hand-written Pods, and a `kubectl get all` dump gets no extra pods.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TcpFlag } from '../../src/packet/view.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, loadScenarioText, packageRoot } from '../../src/scenario/index.js';
import { fnv32a, podTemplateHash, safeEncode } from '../../src/scenario/workloads.js';
import { Harness, dropName, framesAt, tsEngine, nativeEngine } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';
import { ok } from './helpers.js';

const CLUSTER = `apiVersion: dpemu.dev/v1
kind: Cluster
metadata: {name: lab}
spec:
  nodes:
    - {name: node-1, ip: 192.168.1.11, podCIDR: 10.244.1.0/24}
    - {name: node-2, ip: 192.168.1.12, podCIDR: 10.244.2.0/24}
`;

const workload = (kind: string, name: string, labels: string, extra = '', spec = '{containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}', ns = 'default') =>
  `---\napiVersion: ${kind === 'ReplicationController' ? 'v1' : 'apps/v1'}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${extra}  selector: {matchLabels: ${labels}}\n  template:\n    metadata: {labels: ${labels}}\n    spec: ${spec}\n`;

/** The bundled course lab: a client Deployment, a web Deployment of three, its Service and a policy. */
const LAB = readFileSync(join(packageRoot(), 'pcaps/scenarios/course-lab.yaml'), 'utf8');

const GENERATED = /^[bcdfghjklmnpqrstvwxz2456789]{5}$/;

describe('workload controllers make pods', () => {
  it('a Deployment makes `replicas` pods with Kubernetes-shaped names, the pod-template-hash label and round-robin nodes', () => {
    const r = loadScenarioText(LAB, 'lab.yaml');
    const c = ok(r);
    const web = c.pods.filter((p) => p.labels.app === 'web');
    expect(web).toHaveLength(3);
    const hash = web[0].labels['pod-template-hash'];
    for (const p of web) {
      const m = /^web-([a-z0-9]+)-([a-z0-9]+)$/.exec(p.name);
      expect(m, p.name).not.toBeNull();
      expect(m![1]).toBe(hash);
      expect(m![2]).toMatch(GENERATED);
      expect(p.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(p.ready).toBe(true);
    }
    expect(new Set(web.map((p) => p.name)).size).toBe(3);
    // client is placed first (namespace/name order), then web's three: node-2, node-1, node-2.
    expect(c.pods.map((p) => p.nodeName)).toEqual(['node-1', 'node-2', 'node-1', 'node-2']);
    // One warning per workload, naming every pod and its node.
    const lines = r.warnings.filter((w) => w.includes('Deployment default/web'));
    expect(lines).toEqual([`lab.yaml:doc 3: Deployment default/web made 3 Pod(s): ${web.map((p) => `${p.name} on ${p.nodeName}`).join(', ')} (no spec.template.spec.nodeName: round robin over the nodes; kube-scheduler is not modelled)`]);
    // The Service's endpoints are the three made pods.
    expect(c.endpointSlices.flatMap((s) => s.endpoints.map((e) => e.podName)).sort()).toEqual(web.map((p) => p.name).sort());
  });

  it('the same files give the same names, addresses and nodes; a changed template gives another hash', () => {
    const a = ok(loadScenarioText(LAB, 'lab.yaml'));
    const b = ok(loadScenarioText(LAB, 'other-name.yaml'));
    expect(b.pods.map((p) => [p.name, p.ip, p.nodeName])).toEqual(a.pods.map((p) => [p.name, p.ip, p.nodeName]));
    const changed = ok(loadScenarioText(LAB.replace('containerPort: 8080, name: http}]}]}\n---\napiVersion: v1\nkind: Service', 'containerPort: 8081, name: http}]}]}\n---\napiVersion: v1\nkind: Service'), 'lab.yaml'));
    const hashOf = (c: typeof a) => c.pods.find((p) => p.labels.app === 'web')!.labels['pod-template-hash'];
    expect(hashOf(changed)).not.toBe(hashOf(a));
  });

  it('pod-template-hash: FNV-32a over the template with sorted keys, SafeEncodeString\'d (no vowels)', () => {
    // FNV-32a test vectors (draft-eastlake-fnv): "" and "a".
    expect(fnv32a('')).toBe(0x811c9dc5);
    expect(fnv32a('a')).toBe(0xe40c292c);
    expect(fnv32a('foobar')).toBe(0xbf9cf968);
    // k8s.io/apimachinery rand.SafeEncodeString: alphanums[int(b) % 27]; '0' is 48, 48 % 27 = 21 -> '4'.
    expect(safeEncode('0123456789')).toBe('456789bcdf');
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 6 }), (labels) => {
        const t1 = { metadata: { labels }, spec: { containers: [{ name: 'c' }] } };
        const t2 = { spec: { containers: [{ name: 'c' }] }, metadata: { labels: Object.fromEntries(Object.entries(labels).reverse()) } };
        const h = podTemplateHash(t1);
        expect(h).toBe(podTemplateHash(t2));
        expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
      }),
      { numRuns: 200 },
    );
  });

  it('pods written in the files count first: `kubectl get all -o yaml` (Deployment + ReplicaSet + Pods) gets no extra pods', () => {
    const dump =
      CLUSTER +
      workload('Deployment', 'web', '{app: web}', '  replicas: 2\n') +
      workload('ReplicaSet', 'web-5d8f7c9b4', '{app: web, pod-template-hash: 5d8f7c9b4}', '  replicas: 2\n') +
      ['web-5d8f7c9b4-abcde', 'web-5d8f7c9b4-fghij']
        .map((n, i) => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${n}, labels: {app: web, pod-template-hash: 5d8f7c9b4}}\nspec: {nodeName: node-${i + 1}}\nstatus: {podIP: 10.244.${i + 1}.7}\n`)
        .join('');
    const r = loadScenarioText(dump, 'all.yaml');
    const c = ok(r);
    expect(c.pods.map((p) => p.name)).toEqual(['web-5d8f7c9b4-abcde', 'web-5d8f7c9b4-fghij']);
    expect(r.warnings).toEqual([
      'all.yaml:doc 3: ReplicaSet default/web-5d8f7c9b4 made 0 Pod(s); already in the files: web-5d8f7c9b4-abcde, web-5d8f7c9b4-fghij',
      'all.yaml:doc 2: Deployment default/web made 0 Pod(s); already in the files: web-5d8f7c9b4-abcde, web-5d8f7c9b4-fghij',
    ]);
    // One written replica of three: two made.
    const more = ok(loadScenarioText(dump.replace('replicas: 2', 'replicas: 3').replace(/kind: ReplicaSet[\s\S]*?(?=---)/, 'kind: ConfigMap\nmetadata: {name: x}\n'), 'all.yaml'));
    expect(more.pods.filter((p) => p.labels.app === 'web')).toHaveLength(3);
    // More written pods than replicas: nothing is deleted, and the warning says so.
    const fewer = loadScenarioText(dump.replace('replicas: 2', 'replicas: 1'), 'all.yaml');
    expect(ok(fewer).pods).toHaveLength(2);
    expect(fewer.warnings).toContain('all.yaml:doc 2: Deployment default/web wants 1 replica(s) but 2 Pods in the files match its selector; dpemu keeps them all (it deletes nothing)');
  });

  it('a pod has one controller: a bare pod with the labels is not a Deployment\'s, nor are another workload\'s pods', () => {
    const bare = '---\napiVersion: v1\nkind: Pod\nmetadata: {name: debug, labels: {app: web}}\nspec: {nodeName: node-1}\n';
    const r = loadScenarioText(CLUSTER + workload('Deployment', 'web', '{app: web}', '  replicas: 2\n') + bare, 'own.yaml');
    // The Deployment's ReplicaSet selects pod-template-hash too: the debug pod is nobody's.
    expect(ok(r).pods.filter((p) => p.labels['pod-template-hash'] !== undefined)).toHaveLength(2);
    expect(r.warnings.find((w) => w.includes('Deployment default/web'))).not.toContain('already in the files');
    // Overlapping selectors: b's pods are its own, a's pods stay a's.
    const two = loadScenarioText(CLUSTER + workload('Deployment', 'a', '{app: x, v: "2"}', '  replicas: 2\n') + workload('Deployment', 'b', '{app: x}', '  replicas: 2\n'), 'two.yaml');
    const c2 = ok(two);
    expect(c2.pods.filter((p) => p.owner?.name === 'a')).toHaveLength(2);
    expect(c2.pods.filter((p) => p.owner?.name === 'b')).toHaveLength(2);
    // A ReplicaSet in the files belongs to its Deployment (ownerReferences): its pods are the Deployment's.
    const rs = workload('ReplicaSet', 'web-abc', '{app: web, pod-template-hash: abc}', '  replicas: 2\n')
      .replace('metadata: {name: web-abc, namespace: default}', 'metadata: {name: web-abc, namespace: default, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]}');
    const chain = loadScenarioText(CLUSTER + workload('Deployment', 'web', '{app: web}', '  replicas: 2\n') + rs, 'chain.yaml');
    expect(ok(chain).pods.map((p) => p.owner)).toEqual([{ kind: 'ReplicaSet', name: 'web-abc' }, { kind: 'ReplicaSet', name: 'web-abc' }]);
    expect(chain.warnings.find((w) => w.includes('Deployment default/web'))).toMatch(/made 0 Pod\(s\); already in the files: web-abc-\w{5}, web-abc-\w{5}/);
    // A written Pod names its controller in ownerReferences: another ReplicaSet's pod is not this one's.
    const foreign = '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p1, labels: {app: web, pod-template-hash: abc}, ownerReferences: [{kind: ReplicaSet, name: other-xyz, controller: true}]}\nspec: {nodeName: node-1}\n';
    const f = loadScenarioText(CLUSTER + workload('ReplicaSet', 'web-abc', '{app: web}', '  replicas: 1\n') + foreign, 'foreign.yaml');
    expect(ok(f).pods.map((p) => [p.name.startsWith('web-abc-'), p.owner])).toEqual([[false, { kind: 'ReplicaSet', name: 'other-xyz' }], [true, { kind: 'ReplicaSet', name: 'web-abc' }]]);
  });

  it('replicas: 0 makes no pods, and the Service has no endpoints', () => {
    const c = ok(loadScenarioText(LAB.replace('replicas: 3', 'replicas: 0'), 'lab.yaml'));
    expect(c.pods.map((p) => p.labels.app)).toEqual(['client']);
    expect(c.endpointSlices.flatMap((s) => s.endpoints)).toEqual([]);
  });

  it('a written pod with an ordinal\'s name but not the StatefulSet\'s labels blocks that replica, and says so', () => {
    const text = CLUSTER + workload('StatefulSet', 'db', '{app: db}', '  replicas: 2\n') +
      '---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-0, labels: {app: other}}\nspec: {nodeName: node-1}\n';
    const r = loadScenarioText(text, 'sts.yaml');
    expect(ok(r).pods.map((p) => [p.name, p.labels.app])).toEqual([['db-0', 'other'], ['db-1', 'db']]);
    expect(r.warnings).toContain('sts.yaml:doc 2: StatefulSet default/db: Pod default/db-0 in the files is not its (its labels or owner differ), so the StatefulSet cannot make replica 0 (Kubernetes would keep retrying)');
  });

  it('a StatefulSet makes <name>-<ordinal> with the pod-name and pod-index labels; a written ordinal is kept', () => {
    const text = CLUSTER + workload('StatefulSet', 'db', '{app: db}', '  replicas: 3\n', '{nodeName: node-2, containers: [{name: pg}]}') +
      '---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-1, labels: {app: db}}\nspec: {nodeName: node-1}\n';
    const r = loadScenarioText(text, 'sts.yaml');
    const c = ok(r);
    expect(c.pods.map((p) => [p.name, p.nodeName, p.labels])).toEqual([
      ['db-0', 'node-2', { app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-0', 'apps.kubernetes.io/pod-index': '0' }],
      ['db-1', 'node-1', { app: 'db' }],
      ['db-2', 'node-2', { app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-2', 'apps.kubernetes.io/pod-index': '2' }],
    ]);
    expect(r.warnings).toEqual(['sts.yaml:doc 2: StatefulSet default/db made 2 Pod(s): db-0 on node-2, db-2 on node-2; already in the files: db-1']);
  });

  it('a DaemonSet makes one pod per node, except where a written pod of its already runs; hostNetwork makes none', () => {
    const ds = (spec: string) => CLUSTER + workload('DaemonSet', 'agent', '{app: agent}', '', spec, 'kube-system');
    const written = '---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent-old, namespace: kube-system, labels: {app: agent}}\nspec: {nodeName: node-2}\n';
    const r = loadScenarioText(ds('{containers: [{name: a}]}') + written, 'ds.yaml');
    const c = ok(r);
    const made = c.pods.filter((p) => p.name !== 'agent-old');
    expect(made.map((p) => p.nodeName)).toEqual(['node-1']);
    expect(made[0].name).toMatch(/^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(made[0].namespace).toBe('kube-system');
    const every = ok(loadScenarioText(ds('{containers: [{name: a}]}'), 'ds.yaml'));
    expect(every.pods.map((p) => p.nodeName).sort()).toEqual(['node-1', 'node-2']);
    const sel = loadScenarioText(ds('{nodeSelector: {role: edge}, containers: [{name: a}]}'), 'ds.yaml');
    expect(ok(sel).pods).toHaveLength(2);
    expect(sel.warnings[0]).toBe('ds.yaml:doc 2: DaemonSet kube-system/agent: spec.template.spec.nodeSelector not evaluated: a pod on every node');
    const host = loadScenarioText(ds('{hostNetwork: true, containers: [{name: a}]}'), 'ds.yaml');
    expect(ok(host).pods).toEqual([]);
    expect(host.warnings).toEqual(['ds.yaml:doc 2: DaemonSet kube-system/agent makes no pods here: hostNetwork pods are the node itself in dpemu']);
  });

  it('a DaemonSet bound to no node of the cluster makes nothing and says so; its written pod without a node stands for one node', () => {
    const ds = (spec: string, extra = '') => CLUSTER + workload('DaemonSet', 'agent', '{app: agent}', '', spec, 'kube-system') + extra;
    const nowhere = loadScenarioText(ds('{nodeName: node-9, containers: [{name: a}]}'), 'ds.yaml');
    expect(ok(nowhere).pods).toEqual([]);
    expect(nowhere.warnings[0]).toBe('ds.yaml:doc 2: DaemonSet kube-system/agent: spec.template.spec.nodeName node-9 is none of the nodes (node-1, node-2): no pods');
    const unbound = ok(loadScenarioText(ds('{containers: [{name: a}]}', '---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent-old, namespace: kube-system, labels: {app: agent}}\n'), 'ds.yaml'));
    expect(unbound.pods).toHaveLength(2);
  });

  it('a ReplicationController\'s selector defaults to its template labels; with neither it is a problem', () => {
    const text = CLUSTER + '---\napiVersion: v1\nkind: ReplicationController\nmetadata: {name: nginx}\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: nginx}}\n    spec: {nodeName: node-1, containers: [{name: nginx}]}\n';
    const c = ok(loadScenarioText(text, 'rc.yaml'));
    expect(c.pods.map((p) => p.name)).toHaveLength(2);
    for (const p of c.pods) expect(p.name).toMatch(/^nginx-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const bad = loadScenarioText(CLUSTER + '---\napiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  template:\n    spec: {containers: [{name: c}]}\n', 'rc.yaml');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['spec.selector: missing; expected spec.selector or spec.template.metadata.labels (an RC with neither would select every pod), like {app: rc}']);
  });

  it('mistakes are problems with the workload\'s own paths and lines', () => {
    const text = CLUSTER +
      workload('Deployment', 'mismatch', '{app: a}').replace('  template:\n    metadata: {labels: {app: a}}', '  template:\n    metadata: {labels: {app: b}}') +
      workload('Deployment', 'empty', '{}') +
      workload('Deployment', 'nowhere', '{app: n}', '', '{nodeName: node-9, containers: [{name: c}]}') +
      '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bare}\n' +
      workload('StatefulSet', 'many', '{app: m}', '  replicas: 20000\n');
    const r = loadScenario([{ name: 'bad.yaml', text }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const [first, ...rest] = r.problems.map((p) => `${p.doc}:${p.line} ${p.path}: ${p.message}`);
    // Stage 1 (schema) problems come alone: the missing spec and the replica count.
    expect([first, ...rest]).toEqual([
      '5:36 spec: missing; expected a spec with selector and template (the pods this workload makes)',
      '6:44 spec.replicas: expected a replica count (an integer 0-10000), got 20000',
    ]);
    const cross = loadScenario([{ name: 'bad.yaml', text: text.split('---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bare}')[0] }]);
    expect(cross.ok).toBe(false);
    if (cross.ok) return;
    expect(cross.problems.map((p) => `${p.doc}:${p.line} ${p.path}: ${p.message}`)).toEqual([
      '2:13 spec.selector: expected a selector that selects spec.template.metadata.labels (Kubernetes rejects the Deployment otherwise; its pods would not be its own)',
      '3:22 spec.selector: expected a non-empty selector (apps/v1 rejects an empty Deployment selector), like {matchLabels: {app: empty}}',
      '4:34 spec.template.spec.nodeName: expected one of the nodes node-1, node-2, got "node-9"',
    ]);
  });

  describe.each([tsEngine, nativeEngine])('a packet walks the course lab ($name engine)', (engine) => {
    it('client pod -> web Service VIP: DNATed to one of the Deployment\'s pods, allowed by the policy, delivered', () => {
      const h = new Harness({ scenario: LAB, engine });
      const client = h.cluster.pods.find((p) => p.labels.app === 'client')!;
      const vip = h.cluster.services.find((s) => s.name === 'web')!.clusterIp!;
      const out = h.one(podFrame(h, client.name, vip, [{ type: 'tcp', srcPort: 40000, dstPort: 80, seq: 1, flags: TcpFlag.SYN }]), { t: 0 });
      expect(out.results.map((x) => x.verdict)).toEqual([1]);
      const web = h.cluster.pods.filter((p) => p.labels.app === 'web');
      const reached = web.filter((p) => framesAt(out, h, `default/${p.name} eth0`, 0).length > 0);
      expect(reached).toHaveLength(1);
    });
    it('the policy selects the made pods by their template labels: web -> web:8080 is denied, client -> web:8080 is not', () => {
      const h = new Harness({ scenario: LAB, engine });
      const [w1, w2] = h.cluster.pods.filter((p) => p.labels.app === 'web' && p.nodeName === 'node-2');
      const client = h.cluster.pods.find((p) => p.labels.app === 'client')!;
      const tcp = [{ type: 'tcp' as const, srcPort: 40001, dstPort: 8080, seq: 1, flags: TcpFlag.SYN }];
      const denied = h.one(podFrame(h, w1.name, w2.ip, tcp), { t: 0 });
      expect(denied.results.map(dropName)).toEqual(['POLICY_DENIED']);
      const allowed = h.one(podFrame(h, client.name, w2.ip, tcp), { t: 1 });
      expect(allowed.results.map(dropName)).toEqual(['']);
      expect(framesAt(allowed, h, `default/${w2.name} eth0`, 0)).toHaveLength(1);
    });
  });
});
