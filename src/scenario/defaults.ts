/** Defaults the loader applies, in one place so docs/scenario.md and the code can be compared line by line. */
import type { ConntrackTimeouts } from './model.js';

export const DEFAULT_SEED = 1;
export const DEFAULT_MTU = 1500;
/** VXLAN over IPv4 costs 50 bytes: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;
export const DEFAULT_VNI = 1;
/** Linux's historical VXLAN port (and Flannel's); IANA's 4789 is selectable. */
export const DEFAULT_VXLAN_PORT = 8472;
export const DEFAULT_VXLAN_DEVICE = 'flannel.1';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const DEFAULT_CONNTRACK_MAX = 262144;
export const DEFAULT_AFFINITY_TIMEOUT = 10800;
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

/** Kernel nf_conntrack defaults (seconds). */
export const KERNEL_CT_TIMEOUTS: Readonly<ConntrackTimeouts> = Object.freeze({
  tcpSynSent: 120,
  tcpSynRecv: 60,
  tcpEstablished: 432000,
  tcpFinWait: 120,
  tcpCloseWait: 60,
  tcpLastAck: 30,
  tcpTimeWait: 120,
  tcpClose: 10,
  tcpUnacknowledged: 300,
  udp: 30,
  udpStream: 120,
  icmp: 30,
  generic: 600,
});

/** What kube-proxy writes into the sysctls at start-up (conntrack.tcpEstablishedTimeout / tcpCloseWaitTimeout). */
export const KUBE_PROXY_CT_OVERRIDES: Readonly<Partial<ConntrackTimeouts>> = Object.freeze({
  tcpEstablished: 86400,
  tcpCloseWait: 3600,
});
