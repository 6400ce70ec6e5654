import { describe, expect, it } from 'vitest';
import { endpointsForService, loadScenarioText } from '../../src/scenario/index.js';
import { TWO_NODES, ok } from './helpers.js';

const pod = (name: string, ip: string, status: string | null) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status:
  podIP: ${ip}
${status === null ? '' : `  conditions: [{type: Ready, status: ${JSON.stringify(status)}}]\n`}`;

const SERVICE = `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.96.0.60, selector: {app: web}, ports: [{port: 80}]}
`;

describe('pod readiness from status.conditions', () => {
  it('is ready only when the Ready condition is "True", as the EndpointSlice controller\'s IsPodReady', () => {
    const text =
      TWO_NODES +
      pod('no-status', '10.244.1.10', null) +
      pod('is-true', '10.244.1.11', 'True') +
      pod('is-false', '10.244.1.12', 'False') +
      pod('unknown', '10.244.1.13', 'Unknown') +
      pod('typo', '10.244.1.14', 'Flase') +
      SERVICE;
    const c = ok(loadScenarioText(text, 'ready.yaml'));
    expect(Object.fromEntries(c.pods.map((p) => [p.name, p.ready]))).toEqual({
      'no-status': true,
      'is-true': true,
      'is-false': false,
      unknown: false,
      typo: false,
    });
    const eps = endpointsForService(c, 'default', 'web').flatMap((s) => s.endpoints);
    expect(eps.filter((e) => e.ready).map((e) => e.podName).sort()).toEqual(['is-true', 'no-status']);
    expect(eps.filter((e) => !e.ready).every((e) => !e.serving && !e.terminating)).toBe(true);
    expect(c.warnings).toEqual([
      'ready.yaml:doc 6: Pod "default/typo" has Ready condition status "Flase": expected True, False or Unknown; the pod is not ready (only "True" is)',
    ]);
  });
});
