export * from './constants.js';
export { tcpConntrackIndex, tcpFlagsValid, tcpTransition, TCP_CONNTRACKS } from './tcp-state.js';
export {
  ConntrackTable, ConntrackStats, ConntrackError, NF_CT_EVICTION_RANGE, DEFAULT_TCP_MAX_RETRANS_TIMEOUT,
  icmpInvertType, icmpIsError, icmpPort,
} from './table.js';
export type { ConntrackOptions } from './table.js';
export { formatConntrack, formatConntrackList, formatConntrackStats, formatIpv4 } from './format.js';
