/**
 * nf_conntrack numbers, with the kernel's values so dumps, traces and a future native engine agree.
 * Sources: include/uapi/linux/netfilter/nf_conntrack_common.h (status bits, ctinfo),
 * include/uapi/linux/netfilter/nf_conntrack_tcp.h + net/netfilter/nf_conntrack_proto_tcp.c (TCP states).
 */

/** enum ip_conntrack_status bit numbers. */
export const IPS_EXPECTED_BIT = 0;
export const IPS_SEEN_REPLY_BIT = 1;
export const IPS_ASSURED_BIT = 2;
export const IPS_CONFIRMED_BIT = 3;
export const IPS_SRC_NAT_BIT = 4;
export const IPS_DST_NAT_BIT = 5;
export const IPS_SEQ_ADJUST_BIT = 6;
export const IPS_SRC_NAT_DONE_BIT = 7;
export const IPS_DST_NAT_DONE_BIT = 8;
export const IPS_DYING_BIT = 9;
export const IPS_FIXED_TIMEOUT_BIT = 10;
export const IPS_TEMPLATE_BIT = 11;
/** IPS_UNTRACKED_BIT (obsolete) is reused as IPS_NAT_CLASH_BIT in current kernels. */
export const IPS_NAT_CLASH_BIT = 12;
export const IPS_HELPER_BIT = 13;
export const IPS_OFFLOAD_BIT = 14;
export const IPS_HW_OFFLOAD_BIT = 15;

export const IPS_EXPECTED = 1 << IPS_EXPECTED_BIT;
export const IPS_SEEN_REPLY = 1 << IPS_SEEN_REPLY_BIT;
export const IPS_ASSURED = 1 << IPS_ASSURED_BIT;
export const IPS_CONFIRMED = 1 << IPS_CONFIRMED_BIT;
export const IPS_SRC_NAT = 1 << IPS_SRC_NAT_BIT;
export const IPS_DST_NAT = 1 << IPS_DST_NAT_BIT;
export const IPS_SEQ_ADJUST = 1 << IPS_SEQ_ADJUST_BIT;
export const IPS_SRC_NAT_DONE = 1 << IPS_SRC_NAT_DONE_BIT;
export const IPS_DST_NAT_DONE = 1 << IPS_DST_NAT_DONE_BIT;
export const IPS_DYING = 1 << IPS_DYING_BIT;
export const IPS_FIXED_TIMEOUT = 1 << IPS_FIXED_TIMEOUT_BIT;
export const IPS_TEMPLATE = 1 << IPS_TEMPLATE_BIT;
export const IPS_NAT_CLASH = 1 << IPS_NAT_CLASH_BIT;
export const IPS_HELPER = 1 << IPS_HELPER_BIT;
export const IPS_OFFLOAD = 1 << IPS_OFFLOAD_BIT;
export const IPS_HW_OFFLOAD = 1 << IPS_HW_OFFLOAD_BIT;
export const IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
export const IPS_NAT_DONE_MASK = IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE;

/** enum ip_conntrack_dir. */
export const IP_CT_DIR_ORIGINAL = 0;
export const IP_CT_DIR_REPLY = 1;

/** enum ip_conntrack_info (what `-m conntrack --ctstate` matches on). */
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_IS_REPLY = 3;
export const IP_CT_ESTABLISHED_REPLY = IP_CT_ESTABLISHED + IP_CT_IS_REPLY;
export const IP_CT_RELATED_REPLY = IP_CT_RELATED + IP_CT_IS_REPLY;

/** enum tcp_conntrack. IGNORE and MAX (= INVALID in the transition table) are never stored in an entry. */
export const TCP_CONNTRACK_NONE = 0;
export const TCP_CONNTRACK_SYN_SENT = 1;
export const TCP_CONNTRACK_SYN_RECV = 2;
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE_WAIT = 5;
export const TCP_CONNTRACK_LAST_ACK = 6;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_CLOSE = 8;
export const TCP_CONNTRACK_LISTEN = 9;
/** Same value as LISTEN: the kernel aliases the two (`#define TCP_CONNTRACK_SYN_SENT2 TCP_CONNTRACK_LISTEN`). */
export const TCP_CONNTRACK_SYN_SENT2 = 9;
export const TCP_CONNTRACK_MAX = 10;
export const TCP_CONNTRACK_IGNORE = 11;
/** Timeout slots after the states (tcp_timeouts[] index). */
export const TCP_CONNTRACK_RETRANS = 12;
export const TCP_CONNTRACK_UNACK = 13;
export const TCP_CONNTRACK_TIMEOUT_MAX = 14;

export const TCP_CONNTRACK_NAMES: readonly string[] = Object.freeze([
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
]);

/** enum tcp_bit_set: the packet index of get_conntrack_index(). */
export const TCP_SYN_SET = 0;
export const TCP_SYNACK_SET = 1;
export const TCP_FIN_SET = 2;
export const TCP_ACK_SET = 3;
export const TCP_RST_SET = 4;
export const TCP_NONE_SET = 5;

/** TCP header flag bits as they sit in byte 13 of the header. */
export const TCP_FLAG_FIN = 0x01;
export const TCP_FLAG_SYN = 0x02;
export const TCP_FLAG_RST = 0x04;
export const TCP_FLAG_PSH = 0x08;
export const TCP_FLAG_ACK = 0x10;
export const TCP_FLAG_URG = 0x20;
export const TCP_FLAG_ECE = 0x40;
export const TCP_FLAG_CWR = 0x80;

/** struct ip_ct_tcp_state.flags bits (nf_conntrack_tcp.h). */
export const IP_CT_TCP_FLAG_WINDOW_SCALE = 0x01;
export const IP_CT_TCP_FLAG_SACK_PERM = 0x02;
export const IP_CT_TCP_FLAG_CLOSE_INIT = 0x04;
export const IP_CT_TCP_FLAG_BE_LIBERAL = 0x08;
export const IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED = 0x10;
export const IP_CT_TCP_FLAG_MAXACK_SET = 0x20;
/** TCP_MAX_WSCALE: a larger window scale option is clamped to it. */
export const TCP_MAX_WSCALE = 14;
/** MAXACKWINCONST: the least span below td_end an ACK may lag behind (MAXACKWINDOW). */
export const MAXACKWINCONST = 66000;

/** ip_ct_tcp.last_flags bits. */
export const IP_CT_TCP_SIMULTANEOUS_OPEN = 0x04;
export const IP_CT_EXP_CHALLENGE_ACK = 0x40;

/** nf_ct_tcp_max_retrans default. */
export const TCP_MAX_RETRANS = 3;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** ICMP types conntrack knows (icmp.h). */
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMPREPLY = 14;
export const ICMP_INFO_REQUEST = 15;
export const ICMP_INFO_REPLY = 16;
export const ICMP_ADDRESS = 17;
export const ICMP_ADDRESSREPLY = 18;

/**
 * Results of table operations: >= 0 is an entry or node id, < 0 a reason, stable numbers in the Cilium style.
 */
export const CT_INVALID = -1;
export const CT_TABLE_FULL = -2;
export const CT_CLASH = -3;
export const CT_NOT_FOUND = -4;

/** update() verdicts (>= 0: accept the packet). */
export const CT_ACCEPT = 0;
/** Accepted, but the state machine ignored it (kernel's sIG path): the entry did not change state. */
export const CT_IGNORED = 1;
/** Accepted, and the entry was removed (RST as the only answer, kernel nf_ct_kill_acct). */
export const CT_KILLED = 2;
/** The entry was deleted to let this SYN reopen the connection: look up / create again (kernel -NF_REPEAT). */
export const CT_REPEAT = 3;
