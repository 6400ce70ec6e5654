/** Helpers that run the real iptables: `iptables-restore --test` and a restore/save round trip in a network namespace. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const BIN_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

export function findBinary(name: string): string {
  for (const d of BIN_DIRS) if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  throw new Error(`${name} not found: install Debian's iptables package (apt-get install iptables iproute2) and run the tests as root`);
}

/** `iptables-restore --test < text`: returns stderr ('' when accepted). */
export function restoreTest(text: string): { ok: boolean; stderr: string } {
  const r = spawnSync(findBinary('iptables-restore'), ['--test'], { input: text, encoding: 'utf8' });
  return { ok: r.status === 0, stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Restores `text` into a fresh network namespace and returns `iptables-save` output without # lines. */
export function kernelRoundTrip(text: string, tables: string[] = ['filter', 'nat']): string {
  const ip = findBinary('ip');
  const ns = `dpemu-kp-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  execFileSync(ip, ['netns', 'add', ns]);
  try {
    const r = spawnSync(ip, ['netns', 'exec', ns, findBinary('iptables-restore')], { input: text, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`iptables-restore failed in ${ns}: ${r.stderr}`);
    const out: string[] = [];
    for (const t of tables) {
      const s = execFileSync(ip, ['netns', 'exec', ns, findBinary('iptables-save'), '-t', t], { encoding: 'utf8' });
      out.push(...s.split('\n').filter((l) => l !== '' && !l.startsWith('#')));
    }
    return `${out.join('\n')}\n`;
  } finally {
    spawnSync(ip, ['netns', 'del', ns]);
  }
}

/** Our rendering minus comment lines, for comparing with kernelRoundTrip. */
export function withoutComments(text: string): string {
  return `${text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).join('\n')}\n`;
}
