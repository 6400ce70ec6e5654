import { ConntrackTable, type ConntrackOptions } from '../../src/conntrack/index.js';
import { KERNEL_CT_TIMEOUTS, KUBE_PROXY_CT_OVERRIDES } from '../../src/scenario/defaults.js';
import type { ConntrackTimeouts } from '../../src/scenario/model.js';

export const KUBE_TIMEOUTS: ConntrackTimeouts = { ...KERNEL_CT_TIMEOUTS, ...KUBE_PROXY_CT_OVERRIDES };

export function ip(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function table(max = 1024, timeouts: ConntrackTimeouts = KUBE_TIMEOUTS, opts: ConntrackOptions = {}): ConntrackTable {
  return new ConntrackTable(max, timeouts, opts);
}

export const S = 0x02, A = 0x10, F = 0x01, R = 0x04, P = 0x08;
