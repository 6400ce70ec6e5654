/**
 * Deterministic derived addressing. These exact rules are documented in docs/scenario.md and shared with the
 * kernel-capture script, so a capture from real namespaces and an emulator run carry identical MACs and names.
 */
import { createHash } from 'node:crypto';
import { macFromIpv4 } from './ipv4.js';

export const NODE_NIC_NAME = 'eth0';
export const POD_NIC_NAME = 'eth0';
/** Calico's link-local default gateway for every workload; the host veth answers ARP for it by proxy ARP. */
export const POD_GATEWAY_IP = '169.254.1.1';
/** Calico's fixed MAC on every host-side workload veth. */
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';

/** Node NIC: 02:00 + underlay IPv4 bytes (locally administered, unicast). */
export function nodeNicMac(nodeIp32: number): string {
  return macFromIpv4(0x02, 0x00, nodeIp32);
}

/** VXLAN device (VTEP): 02:01 + underlay IPv4 bytes. */
export function vtepMac(nodeIp32: number): string {
  return macFromIpv4(0x02, 0x01, nodeIp32);
}

/** Pod eth0: 0a:58 + pod IPv4 bytes, as the CNI bridge / host-local plugins do. */
export function podMac(podIp32: number): string {
  return macFromIpv4(0x0a, 0x58, podIp32);
}

/** Calico's VethNameForWorkload: "cali" + first 11 hex chars of sha1("<namespace>.<pod>"), 15 chars = IFNAMSIZ-1. */
export function hostVethName(namespace: string, pod: string): string {
  return 'cali' + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}
