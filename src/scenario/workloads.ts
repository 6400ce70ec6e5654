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
import { formatPath, type DocSource, type ParsedObject, type PathKey, type WorkloadObject } from './documents.js';
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

/** FNV-32a (hash/fnv), as Kubernetes' ComputeHash uses, over a string's UTF-16 units (ASCII here). */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) & 0xff;
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
  return w.value.spec.selector as Selector;
}

const isEmptySelector = (s: Selector): boolean => Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;

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
  for (const w of ordered) {
    const id = `${w.kind} ${w.namespace}/${w.name}`;
    const at = `${w.src.file}:doc ${w.src.doc}${w.src.prefix.length ? ` ${formatPath(w.src.prefix)}` : ''}`;
    const tmpl = w.value.spec.template;
    const tmplLabels = tmpl.metadata?.labels ?? {};
    const sel = selectorOf(w);
    if (w.kind !== 'ReplicationController' && isEmptySelector(sel)) {
      out.problems.push({ src: w.src, path: ['spec', 'selector'], message: `expected a non-empty selector (apps/v1 rejects an empty ${w.kind} selector), like {matchLabels: {app: ${w.name}}}` });
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
    const mine = (p: PodObject): boolean => p.namespace === w.namespace && matchLabelMap(sel, p.value.metadata.labels ?? {});
    const make = (name: string, labels: Record<string, string>, nodeName?: string): PodObject => {
      const spec = { ...tmpl.spec, ...(nodeName === undefined ? {} : { nodeName }) };
      const value: PodDoc = { metadata: { name, namespace: w.namespace, labels }, spec };
      const pod: PodObject = { kind: 'Pod', src, name, namespace: w.namespace, value, owner: { kind: w.kind, name: w.name } };
      pods.push(pod);
      out.pods.push(pod);
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
      adopted = pods.filter((p) => mine(p));
      for (const [i, node] of onNodes.entries()) {
        if (adopted.some((p) => p.value.spec?.nodeName === node)) continue;
        made.push(make(unique(`${w.name}-`, i), { ...tmplLabels }, node));
      }
      const unmodelled = ['nodeSelector', 'affinity', 'tolerations'].filter((k) => Object.hasOwn(tmpl.spec, k));
      if (unmodelled.length) out.notes.push(`${at}: ${id}: spec.template.spec.${unmodelled.join('/')} not evaluated: a pod on every node`);
    } else if (w.kind === 'StatefulSet') {
      const replicas = w.value.spec.replicas ?? 1;
      for (let i = 0; i < replicas; i++) {
        const name = `${w.name}-${i}`;
        const existing = pods.find((p) => p.namespace === w.namespace && p.name === name);
        if (existing) {
          adopted.push(existing);
          continue;
        }
        made.push(make(name, { ...tmplLabels, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(i) }));
      }
    } else {
      const replicas = w.value.spec.replicas ?? 1;
      adopted = pods.filter((p) => mine(p));
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
