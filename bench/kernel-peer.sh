#!/usr/bin/env bash
# The kernel as a peer of dpemu (run as root; bounded in time; namespaces removed on exit).
#   bash bench/kernel-peer.sh [SECONDS]
# Topology: dpk-cli (10.200.1.2) --veth-- dpk-rtr (ip_forward, conntrack, kube-proxy-style nat rules)
#           --veth-- dpk-srv (10.200.2.2). Traffic: UDP to the "ClusterIP" 10.96.0.10:80, DNATed by
# KUBE-SERVICES -> KUBE-SVC-BENCH -> KUBE-SEP-BENCH to 10.200.2.2:8080. One sender (bench/blaster.c,
# compiled here with gcc). packets/s = delta of rx_packets of the server's veth (/sys/class/net statistics).
# Runs: established flows with a 1-rule chain; new flows (every packet a new conntrack entry) with 1 and
# with 10,000 KUBE-SERVICES rules before the match. Prints `RESULT <name> <pps>` and `NOTE <text>` lines.
set -euo pipefail
SECS=${1:-5}
[ "$(id -u)" = 0 ] || { echo "kernel-peer: needs root" >&2; exit 3; }
for t in ip iptables gcc; do command -v $t >/dev/null || { echo "kernel-peer: $t not found" >&2; exit 3; }; done
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/dpemu-kpeer.XXXXXX)
NS="dpk-cli dpk-rtr dpk-srv"
cleanup() { for n in $NS; do ip netns del "$n" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
cleanup; WORK=$(mktemp -d /tmp/dpemu-kpeer.XXXXXX)
gcc -O2 -o "$WORK/blaster" "$HERE/blaster.c"
for n in $NS; do ip netns add "$n"; done
ip link add dpk-c0 type veth peer name dpk-r0
ip link add dpk-r1 type veth peer name dpk-s0
ip link set dpk-c0 netns dpk-cli; ip link set dpk-r0 netns dpk-rtr
ip link set dpk-r1 netns dpk-rtr; ip link set dpk-s0 netns dpk-srv
X() { ip netns exec "$@"; }
X dpk-cli ip addr add 10.200.1.2/24 dev dpk-c0; X dpk-cli ip link set dpk-c0 up; X dpk-cli ip link set lo up
X dpk-cli ip route add default via 10.200.1.1
X dpk-rtr ip addr add 10.200.1.1/24 dev dpk-r0; X dpk-rtr ip addr add 10.200.2.1/24 dev dpk-r1
X dpk-rtr ip link set dpk-r0 up; X dpk-rtr ip link set dpk-r1 up; X dpk-rtr ip link set lo up
X dpk-rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.dpk-r0.rp_filter=0
X dpk-rtr sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2 2>/dev/null || true
X dpk-srv ip addr add 10.200.2.2/24 dev dpk-s0; X dpk-srv ip link set dpk-s0 up; X dpk-srv ip link set lo up
X dpk-srv ip route add default via 10.200.2.1
# Neighbours are static so ARP plays no part.
X dpk-cli ip neigh replace 10.200.1.1 lladdr "$(X dpk-rtr cat /sys/class/net/dpk-r0/address)" dev dpk-c0
X dpk-rtr ip neigh replace 10.200.2.2 lladdr "$(X dpk-srv cat /sys/class/net/dpk-s0/address)" dev dpk-r1
# The server drops what it gets (no socket): rx_packets counts what the router forwarded.

rules() { # $1 = filler KUBE-SERVICES rules before the matching one
  {
    echo '*nat'
    echo ':PREROUTING ACCEPT [0:0]'; echo ':KUBE-SERVICES - [0:0]'; echo ':KUBE-SVC-BENCH - [0:0]'; echo ':KUBE-SEP-BENCH - [0:0]'; echo ':KUBE-SVC-FILL - [0:0]'
    echo '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'
    for ((i = 0; i < $1; i++)); do
      echo "-A KUBE-SERVICES -d 10.97.$((i / 250)).$((i % 250 + 1))/32 -p udp -m udp --dport 80 -j KUBE-SVC-FILL"
    done
    echo '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "default/bench cluster IP" -m udp --dport 80 -j KUBE-SVC-BENCH'
    echo '-A KUBE-SVC-BENCH -j KUBE-SEP-BENCH'
    echo '-A KUBE-SEP-BENCH -p udp -m udp -j DNAT --to-destination 10.200.2.2:8080'
    echo 'COMMIT'
  } > "$WORK/rules"
  X dpk-rtr iptables-restore < "$WORK/rules"
}

measure() { # $1 name, $2 mode
  X dpk-rtr conntrack -F >/dev/null 2>&1 || true
  local f=/sys/class/net/dpk-s0/statistics/rx_packets
  local a b; a=$(X dpk-srv cat $f)
  local t0 t1; t0=$(date +%s.%N)
  timeout $((SECS + 10)) ip netns exec dpk-cli "$WORK/blaster" "$2" 10.96.0.10 80 "$SECS" > "$WORK/sent"
  t1=$(date +%s.%N)
  b=$(X dpk-srv cat $f)
  local pps; pps=$(awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", (b - a) / (t1 - t0) }')
  echo "RESULT $1 $pps"
  echo "NOTE $1: sender pushed $(cat "$WORK/sent") packets in ${SECS}s, server veth received $((b - a))" >&2
}

rules 0
measure kernel-established-1-rule flows
measure kernel-new-flows-1-rule new
rules 10000
measure kernel-new-flows-10000-rules new
echo "NOTE one sender, $(nproc) cores, kernel $(uname -r); iptables $(iptables --version | awk '{print $2, $3}'); seconds per run $SECS"
