/**
 * `dpemu walk --to` an SCTP port without --proto: walk cannot build SCTP, and used to send a TCP SYN instead,
 * which matched no Service rule and ended FIB_LOOKUP_FAILED with exit 0. Now exit 2 saying to choose --proto.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli.js';

const DEFAULT = join(import.meta.dirname, '..', '..', 'pcaps', 'default', 'scenario.yaml');

function withSctp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dpemu-sctp-'));
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, `${readFileSync(DEFAULT, 'utf8')}---
apiVersion: v1
kind: Service
metadata: {name: sig}
spec: {clusterIP: 10.96.7.7, selector: {app: backend}, ports: [{name: sctp, port: 3868, targetPort: 3868, protocol: SCTP}]}
`);
  return file;
}

describe('walk to an SCTP port', () => {
  it('without --proto: exit 2 naming the port, nothing walked', async () => {
    const r = await run(['walk', '--scenario', withSctp(), '--from', 'pod-a', '--to', 'sig', '--brief', '--engine', 'ts']);
    expect(r.err).toBe('dpemu: --to sig: Service default/sig port 3868 is SCTP, and dpemu walk sends tcp, udp or icmp; give --proto to send one of those to it anyway\n');
    expect(r.out).toBe('');
    expect(r.code).toBe(2);
  });

  it('with --proto tcp: walked as asked', async () => {
    const r = await run(['walk', '--scenario', withSctp(), '--from', 'pod-a', '--to', 'sig', '--proto', 'tcp', '--brief', '--engine', 'ts']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/-> 10\.96\.7\.7:3868 TCP \[S\]/);
  });
});
