/**
 * Stage 1 of loading: split files into YAML documents, keep source positions, pick a schema by apiVersion/kind and
 * validate. Produces typed objects (each remembering where it came from) plus problems and skip warnings; no
 * cross-object checks happen here (see resolve.ts).
 */
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { z } from 'zod';
import type { ScenarioProblem } from './errors.js';
import {
  appsWorkloadSchema,
  ciliumNetworkPolicySchema,
  clusterSchema,
  endpointSliceSchema,
  endpointsSchema,
  namespaceSchema,
  networkPolicySchema,
  nodeSchema,
  podSchema,
  replicationControllerSchema,
  serviceSchema,
  type AppsWorkloadDoc,
  type CiliumNetworkPolicyDoc,
  type ClusterDoc,
  type EndpointSliceDoc,
  type EndpointsDoc,
  type NetworkPolicyDoc,
  type NodeDoc,
  type PodDoc,
  type ReplicationControllerDoc,
  type ServiceDoc,
} from './schema.js';

export type PathKey = string | number;

/** Where an object came from; `locate` maps a field path to a YAML line (nearest existing ancestor). */
export interface DocSource {
  file: string;
  doc: number;
  /** Path of the object inside its document: [] normally, ['items', i] for an item of a `kind: List`. */
  prefix: readonly PathKey[];
  /** YAML line of a field path relative to the object. */
  locate(path: readonly PathKey[]): number | undefined;
}

/** Where an object is, as warnings name it: `file:doc N`, plus ` items[i]` for an item of a `kind: List`. */
export function objectAt(src: DocSource): string {
  return `${src.file}:doc ${src.doc}${src.prefix.length ? ` ${formatPath(src.prefix)}` : ''}`;
}

/** A field path relative to an object, as shown to people (with the List item prefix when there is one). */
export function fieldPath(src: DocSource, path: readonly PathKey[]): string {
  return formatPath([...src.prefix, ...path]);
}

interface Obj<K extends string, V> {
  kind: K;
  src: DocSource;
  name: string;
  /** '' for cluster-scoped kinds. */
  namespace: string;
  value: V;
  /** A Pod made from a workload's template (workloads.ts): the workload. */
  owner?: { kind: string; name: string };
}

/** One union member per kind (distributes over K), so Extract<ParsedObject, { kind: K }> finds each kind. */
type ObjOf<K extends string, V> = K extends string ? Obj<K, V> : never;

export type ParsedObject =
  | Obj<'Cluster', ClusterDoc>
  | Obj<'Namespace', z.infer<typeof namespaceSchema>>
  | Obj<'Node', NodeDoc>
  | Obj<'Pod', PodDoc>
  | Obj<'Service', ServiceDoc>
  | Obj<'EndpointSlice', EndpointSliceDoc>
  | Obj<'Endpoints', EndpointsDoc>
  | Obj<'NetworkPolicy', NetworkPolicyDoc>
  | ObjOf<'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy', CiliumNetworkPolicyDoc>
  | ObjOf<'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet', AppsWorkloadDoc>
  | Obj<'ReplicationController', ReplicationControllerDoc>;

/** Controllers whose pod templates dpemu turns into Pods (workloads.ts). */
export const WORKLOAD_KINDS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController'] as const;
export type WorkloadObject = Extract<ParsedObject, { kind: (typeof WORKLOAD_KINDS)[number] }>;

export type ParsedKind = ParsedObject['kind'];

interface KindInfo {
  apiVersion: string;
  namespaced: boolean;
  schema: z.ZodType;
}

const KINDS: Record<ParsedKind, KindInfo> = {
  Cluster: { apiVersion: 'dpemu.dev/v1', namespaced: false, schema: clusterSchema },
  Namespace: { apiVersion: 'v1', namespaced: false, schema: namespaceSchema },
  Node: { apiVersion: 'v1', namespaced: false, schema: nodeSchema },
  Pod: { apiVersion: 'v1', namespaced: true, schema: podSchema },
  Service: { apiVersion: 'v1', namespaced: true, schema: serviceSchema },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', namespaced: true, schema: endpointSliceSchema },
  Endpoints: { apiVersion: 'v1', namespaced: true, schema: endpointsSchema },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', namespaced: true, schema: networkPolicySchema },
  CiliumNetworkPolicy: { apiVersion: 'cilium.io/v2', namespaced: true, schema: ciliumNetworkPolicySchema },
  CiliumClusterwideNetworkPolicy: { apiVersion: 'cilium.io/v2', namespaced: false, schema: ciliumNetworkPolicySchema },
  Deployment: { apiVersion: 'apps/v1', namespaced: true, schema: appsWorkloadSchema },
  ReplicaSet: { apiVersion: 'apps/v1', namespaced: true, schema: appsWorkloadSchema },
  StatefulSet: { apiVersion: 'apps/v1', namespaced: true, schema: appsWorkloadSchema },
  DaemonSet: { apiVersion: 'apps/v1', namespaced: true, schema: appsWorkloadSchema },
  ReplicationController: { apiVersion: 'v1', namespaced: true, schema: replicationControllerSchema },
};

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

/** Longest string shown whole in a "got ..."; a longer one (a pasted block, a binary file read as YAML) is cut. */
const SHOWN_CHARS = 80;

/** A short, quoted rendering of what the user wrote, for "got ..." */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (empty)';
  if (typeof v === 'string') {
    // Cut by code point, so a cut never splits a surrogate pair.
    const cps = [...v];
    return cps.length <= SHOWN_CHARS ? JSON.stringify(v) : `${JSON.stringify(cps.slice(0, SHOWN_CHARS).join(''))}... (${cps.length} characters)`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  return 'a mapping';
}

export function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PathKey, unknown>)[k];
  }
  return cur;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  record: 'a mapping',
};

/** The "expected ..." sentence for one zod issue: our own messages as written, zod's built-ins reworded. */
function expectation(iss: z.core.$ZodIssue): string {
  if (iss.message.startsWith('expected ')) return iss.message;
  switch (iss.code) {
    case 'invalid_type':
      return `expected ${TYPE_WORDS[iss.expected] ?? iss.expected}`;
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return iss.origin === 'array' ? `expected at least ${String(iss.minimum)} item(s)` : `expected at least ${String(iss.minimum)}`;
    case 'too_big':
      return iss.origin === 'array' ? `expected at most ${String(iss.maximum)} item(s)` : `expected at most ${String(iss.maximum)}`;
    default:
      return `expected a valid value (${iss.message})`;
  }
}

export function problemText(expected: string, got: unknown): string {
  if (got === undefined) return `missing; ${expected}`;
  if (/\bgot\b/.test(expected)) return expected;
  return `${expected}, got ${describeValue(got)}`;
}

export interface ParsedFiles {
  objects: ParsedObject[];
  problems: ScenarioProblem[];
  warnings: string[];
}

export function parseFiles(files: ReadonlyArray<{ name: string; text: string }>): ParsedFiles {
  const out: ParsedFiles = { objects: [], problems: [], warnings: [] };
  for (const f of files) parseFile(f.name, f.text, out);
  return out;
}

/** What a skipped kind means for the replay, and what to write instead. */
const RUN_TO_COMPLETION_HINT = '; its pods run to completion and are not part of the data path (write a kind: Pod to replay one)';
const SKIP_HINTS: Readonly<Record<string, string>> = {
  Job: RUN_TO_COMPLETION_HINT,
  CronJob: RUN_TO_COMPLETION_HINT,
};

/**
 * A YAML error's first line for a problem. A stack overflow (from the parser or from toJS) is a document nested
 * thousands of levels deep: say that, not the engine's words.
 */
function yamlErrorText(message: string): string {
  if (/maximum call stack/i.test(message)) return 'the document nests too deep to read (thousands of levels; no Kubernetes object nests that deep)';
  return message.split('\n')[0]!;
}

function parseFile(file: string, text: string, out: ParsedFiles): void {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  list.forEach((d, i) => parseDocument(file, i + 1, d, lc, out));
}

function parseDocument(file: string, doc: number, d: Document.Parsed, lc: LineCounter, out: ParsedFiles): void {
  const lineOf = (offset: number): number => lc.linePos(offset).line;
  if (d.errors.length > 0) {
    for (const e of d.errors) {
      out.problems.push({
        file,
        doc,
        line: e.linePos?.[0]?.line ?? lineOf(e.pos[0]),
        path: '',
        message: `expected valid YAML: ${yamlErrorText(e.message)}`,
      });
    }
    return;
  }
  if (d.contents === null) return; // an empty document (e.g. a trailing ---) is not a mistake
  const locate = (path: readonly PathKey[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = d.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lineOf(node.range[0]);
    }
    return undefined;
  };
  const problem = (path: PathKey[], message: string): void => {
    out.problems.push({ file, doc, line: locate(path), path: formatPath(path), message });
  };

  let js: unknown;
  try {
    js = d.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // e.g. an alias whose anchor is in another document, or an alias bomb over maxAliasCount
    problem([], `expected valid YAML: ${yamlErrorText(e instanceof Error ? e.message : String(e))}`);
    return;
  }
  // A document that is only comments (or `---` right after `---`) is null: kubectl apply skips it
  // (cli-runtime StreamVisitor: empty or "null" documents), and so do concatenated course files.
  if (js === null || js === undefined) return;
  const rec = js as Record<string, unknown> | null;
  if (rec && typeof rec === 'object' && rec.kind === 'List' && rec.apiVersion === 'v1') {
    // `kubectl get -o yaml` output: every item is an object of its own, located under items[i]. No items (an
    // empty `kubectl get`) holds no object; items that are not a list are a mistake, not an unmodelled kind.
    if (Array.isArray(rec.items)) rec.items.forEach((item: unknown, i: number) => parseObject(item, ['items', i], file, doc, locate, out));
    else if (rec.items !== undefined && rec.items !== null) problem(['items'], `expected a list of objects, got ${describeValue(rec.items)}`);
    return;
  }
  parseObject(js, [], file, doc, locate, out);
}

function parseObject(
  js: unknown,
  prefix: PathKey[],
  file: string,
  doc: number,
  locateAbs: (path: readonly PathKey[]) => number | undefined,
  out: ParsedFiles,
): void {
  const locate = (path: readonly PathKey[]): number | undefined => locateAbs([...prefix, ...path]);
  const src: DocSource = { file, doc, prefix, locate };
  const problem = (path: PathKey[], message: string): void => {
    out.problems.push({ file, doc, line: locate(path), path: formatPath([...prefix, ...path]), message });
  };
  if (js === null || typeof js !== 'object' || Array.isArray(js)) {
    problem([], `expected a mapping with apiVersion and kind, got ${describeValue(js)}`);
    return;
  }
  const rec = js as Record<string, unknown>;
  const { apiVersion, kind } = rec;
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    problem(['apiVersion'], problemText('expected an apiVersion like v1 or dpemu.dev/v1', apiVersion));
  }
  if (typeof kind !== 'string' || kind === '') {
    problem(['kind'], problemText('expected a kind like Pod or Cluster', kind));
  }
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) return;

  const meta = rec.metadata as Record<string, unknown> | undefined;
  const rawName = meta && typeof meta === 'object' ? meta.name : undefined;
  const info = Object.hasOwn(KINDS, kind) ? KINDS[kind as ParsedKind] : undefined;
  if (!info || groupOf(info.apiVersion) !== groupOf(apiVersion)) {
    // Whole course files (Deployments, ConfigMaps, another project's "Cluster" CRD ...) must still load.
    const shown = typeof rawName === 'string' ? ` ${JSON.stringify(rawName)}` : '';
    out.warnings.push(`${objectAt(src)}: skipped ${apiVersion} ${kind}${shown}: dpemu does not model this kind${SKIP_HINTS[kind] ?? ''}`);
    return;
  }
  if (info.apiVersion !== apiVersion) {
    problem(['apiVersion'], `expected apiVersion ${info.apiVersion} for kind ${kind}, got ${JSON.stringify(apiVersion)}`);
    return;
  }
  const r = info.schema.safeParse(js);
  if (!r.success) {
    const seen = new Set<string>();
    for (const iss of r.error.issues) {
      if (iss.code === 'unrecognized_keys') {
        for (const key of iss.keys) {
          const path = [...(iss.path as PathKey[]), key];
          const id = formatPath(path);
          if (seen.has(id)) continue;
          seen.add(id);
          problem(path, `unknown field; expected one of the fields listed for ${kind} in docs/scenario.md (misspelt?)`);
        }
        continue;
      }
      const path = iss.path as PathKey[];
      const id = formatPath(path);
      if (seen.has(id)) continue; // one clear message per field, not one per failed check
      seen.add(id);
      problem(path, problemText(expectation(iss), valueAt(js, path)));
    }
    return;
  }
  // Every schema requires metadata.name except the Cluster's, which defaults to `cluster`.
  const value = r.data as { metadata?: { name?: string; namespace?: string } };
  out.objects.push({
    kind: kind as ParsedKind,
    src,
    name: value.metadata?.name ?? 'cluster',
    namespace: info.namespaced ? (value.metadata?.namespace ?? 'default') : '',
    value,
  } as ParsedObject);
}
