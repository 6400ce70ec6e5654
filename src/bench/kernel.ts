/**
 * The kernel as a peer: runs bench/kernel-peer.sh (network namespaces, veth, conntrack, kube-proxy-style DNAT,
 * a C UDP blaster compiled at run time; bounded in time, namespaces removed afterwards) and parses its
 * `RESULT <name> <pps>` lines. Needs root; otherwise reports why it did not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KernelPeerResult } from './types.js';

export function kernelPeerScript(): string {
  return fileURLToPath(new URL('../../bench/kernel-peer.sh', import.meta.url));
}

/** Parses the script's stdout (pure). */
export function parseKernelPeer(stdout: string): KernelPeerResult['rows'] {
  const rows: { name: string; pps: number; nsPerPacket: number }[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^RESULT (\S+) (\d+(?:\.\d+)?)$/.exec(line.trim());
    if (m) {
      const pps = Number(m[2]);
      rows.push({ name: m[1], pps, nsPerPacket: pps > 0 ? 1e9 / pps : NaN });
    }
  }
  return rows;
}

export function runKernelPeer(seconds: number): KernelPeerResult {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ran: false, note: 'skipped: not root (network namespaces and iptables need root); run as root to measure the kernel peer', rows: [] };
  }
  const script = kernelPeerScript();
  if (!existsSync(script)) return { ran: false, note: `skipped: ${script} not found (it ships in the repository, not the npm package)`, rows: [] };
  const r = spawnSync('bash', [script, String(seconds)], { encoding: 'utf8', timeout: (seconds * 4 + 90) * 1000 });
  const rows = parseKernelPeer(r.stdout ?? '');
  if (r.status !== 0 || rows.length === 0) {
    const why = r.error ? r.error.message : (r.stderr ?? '').trim().split('\n').slice(-3).join(' / ');
    return { ran: false, note: `kernel peer failed (exit ${r.status}): ${why}`, rows };
  }
  return { ran: true, note: (r.stdout ?? '').split('\n').filter((l) => l.startsWith('NOTE ')).map((l) => l.slice(5)).join('; '), rows };
}
