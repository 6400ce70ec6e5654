/**
 * Port names are IANA_SVC_NAMEs as the apiserver checks them: at least one letter, no "--". A quoted number
 * (`targetPort: "8080"`) used to load as a port *name* no container defines: a warning, then every packet
 * REJECTed, where kubectl apply refuses the object.
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioText } from '../../src/scenario/index.js';
import { TWO_NODES } from './helpers.js';

const WEB = `---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec: {nodeName: n2, containers: [{name: w, ports: [{name: http, containerPort: 8080}]}]}
`;

function problems(extra: string): string[] {
  const r = loadScenarioText(`${TWO_NODES}${WEB}---\n${extra}`, 't.yaml');
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('quoted numbers where a port goes', () => {
  it('Service targetPort: "8080" is a problem that says to drop the quotes', () => {
    expect(problems('apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: "8080"}]}\n')).toEqual([
      'spec.ports[0].targetPort: expected a port number without quotes (8080), or a port name with at least one letter like "http", got "8080"',
    ]);
  });

  it('NetworkPolicy ports[].port: "8080" likewise', () => {
    expect(problems('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec: {podSelector: {}, ingress: [{ports: [{port: "8080"}]}]}\n')).toEqual([
      'spec.ingress[0].ports[0].port: expected a port number without quotes (8080), or a port name with at least one letter like "http", got "8080"',
    ]);
  });

  it('a container port named "80" or "a--b"', () => {
    expect(problems('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: n1, containers: [{name: c, ports: [{name: "80", containerPort: 80}, {name: a--b, containerPort: 81}]}]}\n')).toEqual([
      'spec.containers[0].ports[0].name: expected a port name with at least one letter (IANA_SVC_NAME), like "http", got "80"',
      'spec.containers[0].ports[1].name: expected a port name without "--" (IANA_SVC_NAME), like "http-alt", got "a--b"',
    ]);
  });

  it('names with a letter still load: "http", "h2c", "8080-tcp"', () => {
    const r = loadScenarioText(`${TWO_NODES}${WEB}---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: p}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: h2c, containerPort: 81}, {name: 8080-tcp, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {selector: {app: p}, ports: [{name: a, port: 80, targetPort: h2c}, {name: b, port: 81, targetPort: 8080-tcp}]}
`, 't.yaml');
    expect(r.ok ? [] : r.problems).toEqual([]);
  });
});

describe('a port name twice in one pod', () => {
  it('is a problem at the second, naming the first (the apiserver refuses it: a named targetPort would mean two ports)', () => {
    expect(problems('apiVersion: v1\nkind: Pod\nmetadata: {name: two}\nspec: {nodeName: n1, containers: [{name: a, ports: [{name: http, containerPort: 80}]}, {name: b, ports: [{name: http, containerPort: 8080}]}]}\n')).toEqual([
      'spec.containers[1].ports[0].name: expected each port name once in a pod (containers[0].ports[0].name has it too), got "http"',
    ]);
  });

  it('in a Deployment\'s template too; one name per port, or none, loads', () => {
    const dep = (names: [string, string]): string => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1, selector: {matchLabels: {app: d}}, template: {metadata: {labels: {app: d}}, spec: {containers: [{name: c, ports: [{name: ${names[0]}, containerPort: 80}, {name: ${names[1]}, containerPort: 81}]}]}}}\n`;
    expect(problems(dep(['web', 'web']))).toEqual([
      'spec.template.spec.containers[0].ports[1].name: expected each port name once in a pod (containers[0].ports[0].name has it too), got "web"',
    ]);
    expect(loadScenarioText(`${TWO_NODES}${WEB}---\n${dep(['web', 'metrics'])}`, 't.yaml').ok).toBe(true);
  });
});
