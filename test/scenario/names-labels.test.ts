/**
 * Object names and labels as the apiserver validates them: a Pod name is a DNS subdomain (at most 253
 * characters), a namespace and a Service name a DNS label (63; a Service's starts with a letter), label keys
 * qualified names with an optional DNS-subdomain prefix, label values at most 63 characters. Before, any length
 * passed and a dotted namespace or a label value with spaces loaded as if Kubernetes had accepted it.
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioText } from '../../src/scenario/index.js';
import { TWO_NODES } from './helpers.js';

function problems(docs: string): Array<[string, string]> {
  const r = loadScenarioText(`${TWO_NODES}\n---\n${docs}`, 'names.yaml');
  return r.ok ? [] : r.problems.map((p) => [p.path, p.message]);
}

const pod = (meta: string) => `apiVersion: v1
kind: Pod
metadata: ${meta}
spec: { nodeName: n1, containers: [{ name: c, image: c }] }
status: { podIP: 10.244.1.9 }`;

describe('names and labels the apiserver would refuse are problems', () => {
  it('a Pod name over 253 characters', () => {
    const p = problems(pod(`{ name: ${'a'.repeat(254)} }`));
    expect(p).toEqual([['metadata.name', expect.stringContaining('at most 253 characters')]]);
    expect(problems(pod(`{ name: ${'a'.repeat(253)} }`))).toEqual([]);
  });

  it('a namespace with a dot or over 63 characters, in metadata.namespace and as a Namespace', () => {
    expect(problems(pod('{ name: p, namespace: shop.eu }'))).toEqual([['metadata.namespace', expect.stringContaining('a DNS label')]]);
    expect(problems(`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${'n'.repeat(64)} }`)).toEqual([['metadata.name', expect.stringContaining('at most 63 characters')]]);
  });

  it('a Service name that starts with a digit (DNS-1035)', () => {
    const svc = (n: string) => `apiVersion: v1\nkind: Service\nmetadata: { name: ${n} }\nspec: { ports: [{ port: 80 }] }`;
    expect(problems(svc('1web'))).toEqual([['metadata.name', expect.stringContaining('DNS-1035 label')]]);
    expect(problems(svc('web-1'))).toEqual([]);
  });

  it('label keys and values: bad prefix, long name, value with a space or over 63 characters; empty value is fine', () => {
    const p = problems(pod(`{ name: p, labels: { "Example.com/tier": a, "${'k'.repeat(64)}": b, app: "my app", long: ${'v'.repeat(64)}, empty: "" } }`));
    expect(p.map(([path]) => path)).toEqual(['metadata.labels["Example.com/tier"]', `metadata.labels.${'k'.repeat(64)}`, 'metadata.labels.app', 'metadata.labels.long']);
    expect(p[0][1]).toContain('its prefix "Example.com" must be a lower-case DNS subdomain');
    expect(p[2][1]).toContain('got "my app"');
    expect(problems(pod('{ name: p, labels: { "app.kubernetes.io/name": web, tier: "", "x_y.z": "A-1_b.c" } }'))).toEqual([]);
  });
});
