/**
 * Label selector matching (metav1.LabelSelector semantics: matchLabels AND every matchExpression) and the
 * label context a selector is evaluated against. Cilium selectors may prefix keys with a source (`k8s:`,
 * `any:`) and use the special keys Cilium adds to every endpoint's identity labels.
 */
import type { NamespaceModel, PodModel } from '../scenario/model.js';

export interface SelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** Cilium's namespace label on every endpoint identity (pkg/k8s/apis/cilium.io/const.go PodNamespaceLabel). */
export const CILIUM_NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
/** Cilium's prefix for the labels of an endpoint's namespace (PodNamespaceMetaLabels). */
export const CILIUM_NS_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';

/** What a selector sees: the pod's labels, its namespace and that namespace's labels. */
export interface LabelContext {
  labels: Record<string, string>;
  namespace: string;
  nsLabels: Record<string, string>;
}

/** Namespace labels as the API server has them: `kubernetes.io/metadata.name` is always set (since 1.21). */
export function namespaceLabels(namespaces: readonly NamespaceModel[], name: string): Record<string, string> {
  const ns = namespaces.find((n) => n.name === name);
  return { ...(ns?.labels ?? {}), 'kubernetes.io/metadata.name': name };
}

export function podContext(namespaces: readonly NamespaceModel[], pod: PodModel): LabelContext {
  return { labels: pod.labels, namespace: pod.namespace, nsLabels: namespaceLabels(namespaces, pod.namespace) };
}

/** A problem with a selector, as text for the diagnostic (null when the selector is well formed). */
export function selectorProblem(sel: Selector): { field: string; message: string } | null {
  const exprs = sel.matchExpressions ?? [];
  for (let i = 0; i < exprs.length; i++) {
    const r = exprs[i];
    if (!(SELECTOR_OPERATORS as readonly string[]).includes(r.operator)) {
      return { field: `matchExpressions[${i}].operator`, message: `unknown operator "${r.operator}": expected one of ${SELECTOR_OPERATORS.join(', ')}` };
    }
    const n = r.values?.length ?? 0;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) {
      return { field: `matchExpressions[${i}].values`, message: `expected at least one value for operator ${r.operator}` };
    }
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) {
      return { field: `matchExpressions[${i}].values`, message: `expected no values for operator ${r.operator}` };
    }
  }
  return null;
}

/** Plain Kubernetes matching against one label map. */
export function matchLabelMap(sel: Selector, labels: Record<string, string>): boolean {
  return matchWith(sel, (k) => (Object.hasOwn(labels, k) ? labels[k] : undefined));
}

function matchWith(sel: Selector, get: (key: string) => string | undefined): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (get(k) !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const v = get(r.key);
    switch (r.operator) {
      case 'In':
        if (v === undefined || !(r.values ?? []).includes(v)) return false;
        break;
      case 'NotIn':
        if (v !== undefined && (r.values ?? []).includes(v)) return false;
        break;
      case 'Exists':
        if (v === undefined) return false;
        break;
      case 'DoesNotExist':
        if (v !== undefined) return false;
        break;
      default:
        return false; // rejected by selectorProblem before matching
    }
  }
  return true;
}

/** Strips Cilium's label source (`k8s:app` -> `app`); `reserved:` keys are kept (they never match a pod). */
export function ciliumKey(key: string): string {
  const m = /^(k8s|any|container|unspec):(.*)$/.exec(key);
  return m ? m[2] : key;
}

function selectorKeys(sel: Selector): string[] {
  return [...Object.keys(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).map((e) => e.key)].map(ciliumKey);
}

/** Does this Cilium endpoint selector key name the namespace? (Then Cilium does not add the policy's namespace.) */
export function ciliumSelectsNamespace(sel: Selector): boolean {
  return selectorKeys(sel).includes(CILIUM_NAMESPACE_KEY);
}

/**
 * Does it select on namespace labels (`io.cilium.k8s.namespace.labels.<key>`)? A namespaced policy's selector
 * then spans namespaces too: getEndpointSelector adds the policy's namespace only when neither is present.
 */
export function ciliumSelectsNamespaceLabels(sel: Selector): boolean {
  return selectorKeys(sel).some((k) => k.startsWith(CILIUM_NS_LABELS_PREFIX));
}

/** Does the selector name a `reserved:` label? (Cilium then adds no namespace: it may select reserved identities.) */
export function ciliumSelectsReserved(sel: Selector): boolean {
  return selectorKeys(sel).some((k) => k.startsWith('reserved:'));
}

/** Cilium matching against a reserved identity, whose only label is `reserved:<name>` (no namespace). */
export function matchCiliumReserved(sel: Selector, name: string): boolean {
  return matchWith(ciliumKeys(sel), (k) => (k === `reserved:${name}` ? '' : undefined));
}

/** Cilium EndpointSelector matching against an endpoint's identity labels (pod labels + namespace + namespace labels). */
export function matchCilium(sel: Selector, ctx: LabelContext): boolean {
  return matchWith(
    ciliumKeys(sel),
    (k) => {
      if (k === CILIUM_NAMESPACE_KEY) return ctx.namespace;
      if (k.startsWith(CILIUM_NS_LABELS_PREFIX)) {
        const nk = k.slice(CILIUM_NS_LABELS_PREFIX.length);
        return Object.hasOwn(ctx.nsLabels, nk) ? ctx.nsLabels[nk] : undefined;
      }
      return Object.hasOwn(ctx.labels, k) ? ctx.labels[k] : undefined;
    },
  );
}

/** The selector with every key in ciliumKey's form (its label source, `k8s:`/`any:`..., dropped), as matching reads it. */
function ciliumKeys(sel: Selector): Selector {
  return { matchLabels: renameKeys(sel.matchLabels), matchExpressions: sel.matchExpressions?.map((e) => ({ ...e, key: ciliumKey(e.key) })) };
}

function renameKeys(m: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!m) return m;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[ciliumKey(k)] = v;
  return out;
}
