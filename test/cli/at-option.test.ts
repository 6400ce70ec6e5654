/** `dpemu replay --at`: a name several namespaces share, and a device name, each get a message that says what to write. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli.js';

const DEFAULT = join(import.meta.dirname, '..', '..', 'pcaps', 'default', 'scenario.yaml');

/** The bundled scenario plus a second pod-a, in namespace other. */
function twoPodAs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dpemu-at-'));
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, `${readFileSync(DEFAULT, 'utf8')}---
apiVersion: v1
kind: Pod
metadata: {name: pod-a, namespace: other}
spec: {nodeName: node-2}
`);
  return file;
}

describe('--at', () => {
  it('a pod name in two namespaces says to write namespace/name (was: "no pod ... of that name", listing it twice)', async () => {
    const r = await run(['replay', '--scenario', twoPodAs(), '--at', 'pod-a', '--engine', 'ts']);
    expect(r.err).toBe('dpemu: --at pod-a: pod "pod-a" is in several namespaces (default, other): write namespace/name\n');
    expect(r.out).toBe('');
    expect(r.code).toBe(2);
  });

  it('namespace/name picks one', async () => {
    const r = await run(['replay', '--scenario', twoPodAs(), '--at', 'default/pod-a', '--engine', 'ts']);
    expect(r.code).toBe(0);
  });

  it('an unknown name shows how a device is written', async () => {
    const r = await run(['replay', '--at', 'flannel.1', '--engine', 'ts']);
    expect(r.err).toMatch(/--at flannel\.1: no pod, node or device of that name \(.*; or a device as "<node> <device>", e\.g\. "node-1 eth0"\)\n$/);
    expect(r.code).toBe(2);
    expect((await run(['replay', '--at', 'node-1 flannel.1', '--engine', 'ts'])).code).toBe(0);
  });
});
