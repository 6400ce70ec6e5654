/**
 * Why conntrack judged a TCP packet INVALID or let it through unchanged (IGNORED): the reasons
 * nf_conntrack_proto_tcp.c logs with nf_ct_l4proto_log_invalid(), with the same wording, so a trace
 * shows what `dmesg` would after `sysctl net.netfilter.nf_conntrack_log_invalid=6`.
 * The table writes a code and its numbers per packet (no allocation); text is built only for traces.
 */
import { TCP_CONNTRACK_NAMES } from './constants.js';

export const TcpLog = {
  NONE: 0,
  BAD_FLAGS: 1,
  INVALID_NEW: 2,
  NO_PICKUP: 3,
  INVALID_TRANSITION: 4,
  IGNORED_TRANSITION: 5,
  CHALLENGE_ACK: 6,
  INVALID_RST: 7,
  SEQ_OVER: 8,
  ACK_OVER: 9,
  SEQ_UNDER: 10,
  ACK_UNDER: 11,
  OVERSHOT: 12,
} as const;

/** The last packet's reason (reused: ConntrackTable.tcpLog). `arg` is the bound or byte count the message prints. */
export interface TcpLogRecord {
  code: number;
  arg: number;
  index: number;
  dir: number;
  state: number;
}

export function newTcpLog(): TcpLogRecord {
  return { code: TcpLog.NONE, arg: 0, index: 0, dir: 0, state: 0 };
}

/** The kernel's log text for a record (empty for NONE). */
export function tcpLogText(r: TcpLogRecord): string {
  switch (r.code) {
    case TcpLog.BAD_FLAGS: return 'invalid tcp flag combination';
    case TcpLog.INVALID_NEW: return 'invalid new';
    case TcpLog.NO_PICKUP: return 'invalid new (nf_conntrack_tcp_loose=0: no pickup of connections in progress)';
    case TcpLog.INVALID_TRANSITION: return `packet (index ${r.index}) in dir ${r.dir} invalid, state ${TCP_CONNTRACK_NAMES[r.state]}`;
    case TcpLog.IGNORED_TRANSITION: return `packet (index ${r.index}) in dir ${r.dir} ignored, state ${TCP_CONNTRACK_NAMES[r.state]}`;
    case TcpLog.CHALLENGE_ACK: return 'challenge-ack ignored';
    case TcpLog.INVALID_RST: return 'invalid rst';
    case TcpLog.SEQ_OVER: return `SEQ is over upper bound ${r.arg} (over the window of the receiver)`;
    case TcpLog.ACK_OVER: return `ACK is over upper bound ${r.arg} (ACKed data not seen yet)`;
    case TcpLog.SEQ_UNDER: return `SEQ is under lower bound ${r.arg} (already ACKed data retransmitted)`;
    case TcpLog.ACK_UNDER: return `ignored ACK under lower bound ${r.arg} (possible overly delayed)`;
    case TcpLog.OVERSHOT: return `${r.arg} bytes more than expected`;
    default: return '';
  }
}
