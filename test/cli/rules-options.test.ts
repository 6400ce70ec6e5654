/** `dpemu rules`: an option the chosen output does not read is exit 2, not silently dropped. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli.js';

const IPVS = join(import.meta.dirname, '..', '..', 'pcaps', 'scenarios', 'ipvs.yaml');

describe('rules options that do not fit together', () => {
  it.each([
    [['rules', '--policy', '--table', 'nat'], "dpemu rules: --table applies to kube-proxy's rules, not --policy (the NetworkPolicy chains)\n"],
    [['rules', '--policy', '--mode', 'ipvs'], "dpemu rules: --mode applies to kube-proxy's rules, not --policy (the NetworkPolicy chains)\n"],
    [['rules', '--mode', 'ipvs', '--table', 'nat'], 'dpemu rules: --table applies to the iptables rules (--mode iptables); ipvs mode prints the virtual servers (ipvsadm -Ln)\n'],
    [['rules', '--scenario', IPVS, '--table', 'filter'], 'dpemu rules: --table applies to the iptables rules (--mode iptables); ipvs mode prints the virtual servers (ipvsadm -Ln)\n'],
  ])('%j', async (args, message) => {
    const r = await run(args);
    expect(r.err).toBe(message);
    expect(r.out).toBe('');
    expect(r.code).toBe(2);
  });

  it('--mode iptables --table nat on an ipvs scenario still prints the nat table', async () => {
    const r = await run(['rules', '--scenario', IPVS, '--mode', 'iptables', '--table', 'nat']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\*nat$/m);
    expect(r.out).not.toMatch(/^\*filter$/m);
  });
});
