/** dpemu replay prints each policy diagnostic with the object and field it is about, as scenario problems are printed. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';

const L7_DNS = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dns-only, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system}}]
      toPorts:
        - ports: [{port: "53", protocol: ANY}]
          rules:
            dns: [{matchPattern: "*"}]
`;

describe('policy warnings on the command line', () => {
  it('name the policy object and the field, then say what dpemu does instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-polwarn-'));
    writeFileSync(join(dir, 'dns.yaml'), L7_DNS);
    const r = await runCli(['replay', '--scenario', defaultScenarioPath(), '--scenario', join(dir, 'dns.yaml')]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('warning: CiliumNetworkPolicy default/dns-only spec.egress[0].toPorts[0].rules.dns: L7 dns rules are not modeled: the port is allowed without a proxy\n');
  });
});
