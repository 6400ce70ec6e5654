/**
 * Pods from workload controllers (Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController),
 * made as the controllers would make them, so a course file that describes a Deployment replays without
 * hand-written Pods. Pods the files already hold count first, as the controllers adopt matching pods: a
 * `kubectl get all -o yaml` dump (Deployment + ReplicaSet + its Pods) gets no extra pods.
 *
 * Names have Kubernetes' shape, not its values: the pod-template-hash is FNV-32a over the template's JSON
 * (Kubernetes hashes Go's printed form of the struct) and the 5-character suffix comes from a hash of the
 * owner and replica number instead of a random source, so the same files always give the same names.
 */
import { matchLabelMap, type Selector } from '../policy/selectors.js';
import { objectAt, type DocSource, type ParsedObject, type PathKey, type WorkloadObject } from './documents.js';
import type { PodDoc } from './schema.js';

type PodObject = Extract<ParsedObject, { kind: 'Pod' }>;

/** k8s.io/apimachinery/pkg/util/rand: the alphabet of generated names (no vowels, no 0/1/3). */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
/** apiserver's SimpleNameGenerator: a generateName base longer than 63 - 5 is cut. */
const MAX_GENERATED_BASE = 58;

export interface Expansion {
  pods: PodObject[];
  problems: Array<{ src: DocSource; path: PathKey[]; message: string }>;
  /** Per workload that made pods or adopted written ones: resolve.ts reports them with the nodes they got. */
  made: Array<{ at: string; owner: string; pods: PodObject[]; adopted: string[] }>;
  /** Modelling choices that change what the workload would do in a cluster (shown as warnings). */
  notes: string[];
}

const utf8 = new TextEncoder();

/** FNV-32a (hash/fnv), as Kubernetes' ComputeHash uses, over the string's UTF-8 bytes (as Go hashes a string). */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of utf8.encode(s)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString: each character of the decimal text mapped into ALPHANUMS (no bad words). */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

/** JSON with sorted keys: the same template gives the same hash whatever order its fields were written in. */
function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const rec = v as Record<string, unknown>;
  return `{${Object.keys(rec).sort().map((k) => `${JSON.stringify(k)}:${stableJson(rec[k])}`).join(',')}}`;
}

/** The pod-template-hash label value of a Deployment's template. */
export function podTemplateHash(template: unknown): string {
  return safeEncode(String(fnv32a(stableJson(template))));
}

/** generateName + 5 characters; `salt` picks another suffix on a clash. */
function generatedName(generateName: string, owner: string, replica: number, salt: number): string {
  let h = fnv32a(`${owner}#${replica}#${salt}`);
  let sfx = '';
  for (let i = 0; i < 5; i++) {
    sfx += ALPHANUMS[h % ALPHANUMS.length];
    h = Math.floor(h / ALPHANUMS.length);
  }
  return generateName.slice(0, MAX_GENERATED_BASE) + sfx;
}

function selectorOf(w: WorkloadObject): Selector {
  if (w.kind === 'ReplicationController') return { matchLabels: w.value.spec.selector ?? w.value.spec.template.metadata?.labels ?? {} };
  return w.value.spec.selector;
}

const isEmptySelector = (s: Selector): boolean => Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;

interface Ref { kind: string; name: string }

/** The controller an object names in metadata.ownerReferences (controller: true, else the first), if any. */
export function ownerReference(meta: Readonly<Record<string, unknown>>): Ref | undefined {
  const refs = Array.isArray(meta.ownerReferences) ? (meta.ownerReferences as unknown[]) : [];
  const ok = refs.filter((r): r is { kind: string; name: string; controller?: unknown } =>
    r !== null && typeof r === 'object' && typeof (r as Ref).kind === 'string' && typeof (r as Ref).name === 'string');
  const ref = ok.find((r) => r.controller === true) ?? ok[0];
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

/** Is `rs` a ReplicaSet of Deployment `deployment` by Kubernetes' naming (<deployment>-<pod-template-hash>)? */
export function replicaSetOf(rs: string, deployment: string): boolean {
  return rs.startsWith(`${deployment}-`) && rs.length > deployment.length + 1 && !rs.slice(deployment.length + 1).includes('-');
}

/** RCs and ReplicaSets before Deployments: a Deployment's pods come through its ReplicaSet, which may be in the files. */
const ORDER: Record<WorkloadObject['kind'], number> = { ReplicationController: 0, ReplicaSet: 1, Deployment: 2, StatefulSet: 3, DaemonSet: 4 };

/**
 * The pods the workloads make, given the Pods written in the files and the node names (DaemonSets: one pod per
 * node). `workloads` and `written` are in namespace/name order; the result is deterministic.
 */
export function expandWorkloads(workloads: readonly WorkloadObject[], written: readonly PodObject[], nodeNames: readonly string[]): Expansion {
  const out: Expansion = { pods: [], problems: [], made: [], notes: [] };
  const pods: PodObject[] = [...written];
  const taken = new Set(written.map((p) => `${p.namespace}/${p.name}`));
  const ordered = [...workloads].sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);
  // A pod has one controller: the workload that made it, the one its ownerReferences name, or the first that
  // adopts it (controllers adopt orphans their selector matches). A ReplicaSet in the files is its Deployment's
  // (ownerReferences, else Kubernetes' <deployment>-<hash> name), so a Deployment counts that ReplicaSet's pods.
  const controller = new Map<PodObject, Ref>();
  for (const p of written) {
    const ref = ownerReference(p.value.metadata);
    if (ref) controller.set(p, ref);
  }
  const rsOwner = new Map<string, Ref | undefined>();
  for (const w of workloads) if (w.kind === 'ReplicaSet') rsOwner.set(`${w.namespace}/${w.name}`, ownerReference(w.value.metadata));
  const belongsTo = (ref: Ref, w: WorkloadObject): boolean => {
    if (ref.kind === w.kind && ref.name === w.name) return true;
    if (w.kind !== 'Deployment' || ref.kind !== 'ReplicaSet') return false;
    const owner = rsOwner.get(`${w.namespace}/${ref.name}`);
    return owner ? owner.kind === 'Deployment' && owner.name === w.name : replicaSetOf(ref.name, w.name);
  };
  for (const w of ordered) {
    const id = `${w.kind} ${w.namespace}/${w.name}`;
    const at = objectAt(w.src);
    const tmpl = w.value.spec.template;
    const tmplLabels = tmpl.metadata?.labels ?? {};
    const sel = selectorOf(w);
    if (isEmptySelector(sel)) {
      const message = w.kind === 'ReplicationController'
        ? `missing; expected spec.selector or spec.template.metadata.labels (an RC with neither would select every pod), like {app: ${w.name}}`
        : `expected a non-empty selector (apps/v1 rejects an empty ${w.kind} selector), like {matchLabels: {app: ${w.name}}}`;
      out.problems.push({ src: w.src, path: ['spec', 'selector'], message });
      continue;
    }
    if (!matchLabelMap(sel, tmplLabels)) {
      out.problems.push({ src: w.src, path: ['spec', 'selector'], message: `expected a selector that selects spec.template.metadata.labels (Kubernetes rejects the ${w.kind} otherwise; its pods would not be its own)` });
      continue;
    }
    if (tmpl.spec.hostNetwork) {
      out.notes.push(`${at}: ${id} makes no pods here: hostNetwork pods are the node itself in dpemu`);
      continue;
    }
    const src: DocSource = {
      file: w.src.file,
      doc: w.src.doc,
      prefix: [...w.src.prefix, 'spec', 'template'],
      locate: (path) => w.src.locate(['spec', 'template', ...path]),
    };
    const selected = (p: PodObject): boolean => p.namespace === w.namespace && matchLabelMap(sel, p.value.metadata.labels ?? {});
    /** A pod this workload controls: its own, or an orphan it adopts (a Deployment's ReplicaSet selects pod-template-hash too). */
    const mine = (p: PodObject): boolean => {
      if (!selected(p)) return false;
      const ref = controller.get(p);
      if (ref) return belongsTo(ref, w);
      return w.kind !== 'Deployment' || Object.hasOwn(p.value.metadata.labels ?? {}, 'pod-template-hash');
    };
    const adopt = (ps: PodObject[]): PodObject[] => {
      for (const p of ps) if (!controller.has(p)) controller.set(p, { kind: w.kind, name: w.name });
      return ps;
    };
    const make = (name: string, labels: Record<string, string>, nodeName?: string): PodObject => {
      const spec = { ...tmpl.spec, ...(nodeName === undefined ? {} : { nodeName }) };
      const value: PodDoc = { metadata: { name, namespace: w.namespace, labels }, spec };
      const pod: PodObject = { kind: 'Pod', src, name, namespace: w.namespace, value, owner: { kind: w.kind, name: w.name } };
      pods.push(pod);
      out.pods.push(pod);
      controller.set(pod, { kind: w.kind, name: w.name });
      taken.add(`${w.namespace}/${name}`);
      return pod;
    };
    const unique = (generateName: string, replica: number): string => {
      for (let salt = 0; ; salt++) {
        const n = generatedName(generateName, id, replica, salt);
        if (!taken.has(`${w.namespace}/${n}`)) return n;
      }
    };
    const made: PodObject[] = [];
    let adopted: PodObject[] = [];
    if (w.kind === 'DaemonSet') {
      const only = tmpl.spec.nodeName;
      const onNodes = nodeNames.filter((n) => only === undefined || n === only);
      if (only !== undefined && onNodes.length === 0) out.notes.push(`${at}: ${id}: spec.template.spec.nodeName ${only} is none of the nodes (${nodeNames.join(', ')}): no pods`);
      adopted = adopt(pods.filter((p) => mine(p)));
      // A written pod of its without a node stands for one node (the daemon controller would have bound it).
      let unbound = adopted.filter((p) => p.value.spec?.nodeName === undefined).length;
      for (const [i, node] of onNodes.entries()) {
        if (adopted.some((p) => p.value.spec?.nodeName === node)) continue;
        if (unbound > 0) {
          unbound--;
          continue;
        }
        made.push(make(unique(`${w.name}-`, i), { ...tmplLabels }, node));
      }
      const unmodelled = ['nodeSelector', 'affinity', 'tolerations'].filter((k) => Object.hasOwn(tmpl.spec, k));
      if (unmodelled.length) out.notes.push(`${at}: ${id}: spec.template.spec.${unmodelled.join('/')} not evaluated: a pod on every node`);
    } else if (w.kind === 'StatefulSet') {
      const replicas = w.value.spec.replicas ?? 1;
      for (let i = 0; i < replicas; i++) {
        const name = `${w.name}-${i}`;
        const existing = pods.find((p) => p.namespace === w.namespace && p.name === name);
        if (existing && mine(existing)) {
          adopted.push(...adopt([existing]));
          continue;
        }
        if (existing) {
          out.notes.push(`${at}: ${id}: Pod ${existing.namespace}/${name} in the files is not its (its labels or owner differ), so the StatefulSet cannot make replica ${i} (Kubernetes would keep retrying)`);
          continue;
        }
        made.push(make(name, { ...tmplLabels, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(i) }));
      }
    } else {
      const replicas = w.value.spec.replicas ?? 1;
      adopted = adopt(pods.filter((p) => mine(p)));
      const hash = w.kind === 'Deployment' ? podTemplateHash(tmpl) : '';
      const generateName = w.kind === 'Deployment' ? `${w.name}-${hash}-` : `${w.name}-`;
      const labels = w.kind === 'Deployment' ? { ...tmplLabels, 'pod-template-hash': hash } : { ...tmplLabels };
      for (let i = adopted.length; i < replicas; i++) made.push(make(unique(generateName, i), labels));
      if (adopted.length > replicas) {
        out.notes.push(`${at}: ${id} wants ${replicas} replica(s) but ${adopted.length} Pods in the files match its selector; dpemu keeps them all (it deletes nothing)`);
      }
    }
    out.made.push({ at, owner: id, pods: made, adopted: adopted.map((p) => p.name) });
  }
  return out;
}
