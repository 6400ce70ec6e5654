#!/usr/bin/env bash
# Ground truth from the real kernel for dpemu's pod-to-pod overlay path.
#
# Builds dpemu's default scenario (3 nodes, Flannel-style VXLAN, Calico-style pod attach)
# in network namespaces, sends real traffic between pods, captures at every observation
# point and writes pcaps + manifest into pcaps/kernel/<scenario>/.  Run as root:
#
#     sudo bash pcaps/kernel/capture-pod-to-pod.sh            # scenario pod-to-pod
#     sudo bash pcaps/kernel/capture-pod-to-pod.sh pod-to-pod # same, explicit
#     sudo bash pcaps/kernel/capture-pod-to-pod.sh service    # kube-proxy rules (dpemu rules + iptables-restore), Service VIP, NodePort, REJECT: pcaps/kernel/service/ (needs npm run build)
#     sudo bash pcaps/kernel/capture-pod-to-pod.sh hairpin    # same rules machinery; pod-a connects to a Service whose only endpoint is pod-a: pcaps/kernel/hairpin/
#
# Adding a scenario (e.g. kube-proxy Service VIP): write `scenario_<name>_setup` (optional,
# e.g. iptables-restore in each node namespace) and `scenario_<name>_traffic`, then run
# the script with <name> as argument.  run_scenario does topology up, captures, state
# snapshots, manifest, verification and topology down for every scenario the same way.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}"
TRAFFIC="$HERE/traffic.py"
P=dpemu                      # namespace prefix; everything we create starts with "$P-"
UL_NS="$P-ul"

# ---- topology constants (dpemu's default scenario derives the same values) -------------
NODES=(node-1 node-2 node-3)
declare -A NODE_IP=([node-1]=10.0.1.5 [node-2]=10.0.1.6 [node-3]=10.0.1.7)
declare -A NODE_CIDR=([node-1]=10.244.1.0/24 [node-2]=10.244.2.0/24 [node-3]=10.244.3.0/24)
declare -A NODE_VTEP_IP=([node-1]=10.244.1.0 [node-2]=10.244.2.0 [node-3]=10.244.3.0)
UL_PREFIX=24
UL_MTU=1500
VXLAN_DEV=flannel.1
VXLAN_VNI=1
VXLAN_PORT=8472
VXLAN_MTU=1450
POD_MTU=1500
GW_IP=169.254.1.1
GW_MAC=ee:ee:ee:ee:ee:ee
# pod name | k8s namespace | ip | node | labels | ports
PODS=(
  "pod-a|default|10.244.1.5|node-1|app=client|"
  "backend-a|default|10.244.2.8|node-2|app=backend|http:8080/tcp"
  "backend-b|default|10.244.3.9|node-3|app=backend|http:8080/tcp"
  "coredns-0|kube-system|10.244.2.15|node-2|k8s-app=kube-dns|dns:53/udp"
)
# Keep a conntrack-using rule in FORWARD (as kube-proxy's KUBE-FORWARD does on every real
# node).  Without any such rule a fresh netns registers no conntrack/defrag hooks at all, so
# there would be no conntrack entries and no defrag+refragment of fragmented datagrams.
CT_HOOK="${CT_HOOK:-1}"
OUT_BASE="${OUT_BASE:-$HERE}"  # where <scenario>/ is written; override for experiments

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- naming helpers ----------------------------------------------------------------------
ip_hex() { local IFS=.; set -- $1; printf '%02x:%02x:%02x:%02x' "$1" "$2" "$3" "$4"; }
node_mac() { echo "02:00:$(ip_hex "${NODE_IP[$1]}")"; }
vtep_mac() { echo "02:01:$(ip_hex "${NODE_IP[$1]}")"; }
pod_mac() { echo "0a:58:$(ip_hex "$1")"; }
# Calico's VethNameForWorkload: "cali" + sha1("<namespace>.<pod>")[:11]
cali_name() { printf 'cali%s' "$(printf '%s.%s' "$1" "$2" | sha1sum | cut -c1-11)"; }
node_ns() { echo "$P-$1"; }
pod_ns() { echo "$P-pod-$1"; }
pod_field() { # pod_field <pod> <index>  (0 name,1 ns,2 ip,3 node,4 labels,5 ports)
  local p; for p in "${PODS[@]}"; do IFS='|' read -r -a f <<<"$p"; [[ ${f[0]} == "$1" ]] && { echo "${f[$2]}"; return; }; done
  die "unknown pod $1"
}
pod_ip() { pod_field "$1" 2; }
pod_node() { pod_field "$1" 3; }
pod_veth() { cali_name "$(pod_field "$1" 1)" "$1"; }
nx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---- process bookkeeping: only ever signal PIDs we started ------------------------------
BG_PIDS=()
CAP_PIDS=()
WORK="$(mktemp -d /tmp/dpemu-capture.XXXXXX)"

kill_pids() { # kill_pids SIGNAL pid...: signal, wait up to 5 s, then SIGKILL stragglers
  local sig=$1 pid t; shift
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && kill "-$sig" "$pid" 2>/dev/null || true; done
  for t in $(seq 50); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && { log "pid $pid ignored SIG$sig; SIGKILL"; kill -KILL "$pid"; }; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# ---- topology ------------------------------------------------------------------------------
new_ns() { # create a namespace with IPv6 off before any interface exists
  ip netns add "$1"
  nx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nx "$1" ip link set lo up
}

offloads_off() { # real checksums on the wire: no partial csum travelling through veth/vxlan
  nx "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>"$WORK/ethtool.err" \
    || log "ethtool -K $1/$2: $(tr '\n' ' ' <"$WORK/ethtool.err")"
  local left
  left=$(nx "$1" ethtool -k "$2" | grep -E '^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload): on' || true)
  [[ -z $left ]] || die "offloads still on for $1/$2: $left"
}

topology_down() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" || true); do
    ip netns del "$ns" 2>/dev/null || log "could not delete $ns"
  done
}

topology_up() {
  local n m pod ns ip node veth i=0
  new_ns "$UL_NS"
  nx "$UL_NS" ip link add br0 type bridge
  nx "$UL_NS" ip link set br0 up
  for n in "${NODES[@]}"; do
    i=$((i + 1)); ns=$(node_ns "$n")
    new_ns "$ns"
    nx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    # underlay NIC: eth0 in the node, "n<i>" on br0
    ip -n "$UL_NS" link add "n$i" mtu "$UL_MTU" type veth peer name eth0 netns "$ns"
    nx "$UL_NS" ip link set "n$i" master br0 up
    offloads_off "$UL_NS" "n$i"
    nx "$ns" ip link set eth0 address "$(node_mac "$n")" mtu "$UL_MTU"
    nx "$ns" ip addr add "${NODE_IP[$n]}/$UL_PREFIX" dev eth0
    nx "$ns" ip link set eth0 up
    offloads_off "$ns" eth0
    # static FDB on the underlay bridge: no unknown-unicast flooding of the first frames
    nx "$UL_NS" bridge fdb replace "$(node_mac "$n")" dev "n$i" master static
    # overlay: Flannel's vxlan backend
    nx "$ns" ip link add "$VXLAN_DEV" type vxlan id "$VXLAN_VNI" dstport "$VXLAN_PORT" \
      local "${NODE_IP[$n]}" dev eth0 nolearning
    nx "$ns" ip link set "$VXLAN_DEV" address "$(vtep_mac "$n")" mtu "$VXLAN_MTU"
    nx "$ns" ip addr add "${NODE_VTEP_IP[$n]}/32" dev "$VXLAN_DEV"
    nx "$ns" ip link set "$VXLAN_DEV" up
    offloads_off "$ns" "$VXLAN_DEV"
    nx "$ns" ip -d link show "$VXLAN_DEV" | grep -q ' udpcsum ' || die "$n: $VXLAN_DEV has no udpcsum"
    if [[ $CT_HOOK == 1 ]]; then
      nx "$ns" iptables -w -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    fi
  done
  for n in "${NODES[@]}"; do
    ns=$(node_ns "$n")
    for m in "${NODES[@]}"; do
      [[ $m == "$n" ]] && continue
      nx "$ns" ip neigh add "${NODE_IP[$m]}" lladdr "$(node_mac "$m")" dev eth0 nud permanent
      nx "$ns" ip route add "${NODE_CIDR[$m]}" via "${NODE_VTEP_IP[$m]}" dev "$VXLAN_DEV" onlink
      nx "$ns" ip neigh add "${NODE_VTEP_IP[$m]}" lladdr "$(vtep_mac "$m")" dev "$VXLAN_DEV" nud permanent
      nx "$ns" bridge fdb append "$(vtep_mac "$m")" dev "$VXLAN_DEV" dst "${NODE_IP[$m]}"
    done
  done
  for entry in "${PODS[@]}"; do
    IFS='|' read -r pod _ ip node _ _ <<<"$entry"
    ns=$(pod_ns "$pod"); veth=$(pod_veth "$pod")
    new_ns "$ns"
    local nns; nns=$(node_ns "$node")
    ip -n "$nns" link add "$veth" mtu "$POD_MTU" type veth peer name eth0 netns "$ns"
    nx "$nns" ip link set "$veth" address "$GW_MAC"
    nx "$nns" sysctl -qw "net.ipv4.conf.$veth.proxy_arp=1" "net.ipv4.neigh.$veth.proxy_delay=0"
    nx "$nns" ip link set "$veth" up
    offloads_off "$nns" "$veth"
    nx "$nns" ip route add "$ip/32" dev "$veth" scope link
    nx "$nns" ip neigh add "$ip" lladdr "$(pod_mac "$ip")" dev "$veth" nud permanent
    nx "$ns" ip link set eth0 address "$(pod_mac "$ip")" mtu "$POD_MTU"
    nx "$ns" ip addr add "$ip/32" dev eth0
    nx "$ns" ip link set eth0 up
    offloads_off "$ns" eth0
    nx "$ns" ip route add "$GW_IP" dev eth0 scope link
    nx "$ns" ip route add default via "$GW_IP" dev eth0
    nx "$ns" ip neigh add "$GW_IP" lladdr "$GW_MAC" dev eth0 nud permanent
  done
}

# ---- captures ------------------------------------------------------------------------------
# observation points: "<file stem>|<netns>|<iface>|<node>|<pod>|<point>"
observation_points() {
  local entry pod ip node n
  for entry in "${PODS[@]}"; do
    IFS='|' read -r pod _ ip node _ _ <<<"$entry"
    echo "$pod.eth0|$(pod_ns "$pod")|eth0|$node|$pod|pod-eth0"
  done
  for entry in "${PODS[@]}"; do
    IFS='|' read -r pod _ ip node _ _ <<<"$entry"
    echo "$node.$(pod_veth "$pod")|$(node_ns "$node")|$(pod_veth "$pod")|$node|$pod|host-veth"
  done
  for n in "${NODES[@]}"; do echo "$n.$VXLAN_DEV|$(node_ns "$n")|$VXLAN_DEV|$n||vxlan-device"; done
  for n in "${NODES[@]}"; do echo "$n.eth0|$(node_ns "$n")|eth0|$n||underlay"; done
}

capture_start() { # capture_start <outdir>
  local out=$1 stem ns dev pid t
  observation_points >"$WORK/points"
  while IFS='|' read -r stem ns dev _ _ _; do
    rm -f "$out/$stem.pcap"
    # -Z root: Debian's tcpdump otherwise drops to user tcpdump before opening the file
    ip netns exec "$ns" tcpdump -Z root -n -i "$dev" -U -s 0 -w "$out/$stem.pcap" \
      >"$WORK/$stem.tcpdump.log" 2>&1 &
    CAP_PIDS+=("$!")
  done <"$WORK/points"
  while IFS='|' read -r stem _ _ _ _ _; do
    for t in $(seq 50); do grep -q 'listening on' "$WORK/$stem.tcpdump.log" && break; sleep 0.1; done
    grep -q 'listening on' "$WORK/$stem.tcpdump.log" || die "tcpdump for $stem did not start: $(cat "$WORK/$stem.tcpdump.log")"
  done <"$WORK/points"
  sleep 0.5
}

capture_stop() {
  sleep 0.5
  kill_pids INT "${CAP_PIDS[@]}"
  CAP_PIDS=()
  local stem
  while IFS='|' read -r stem _ _ _ _ _; do
    log "tcpdump $stem: $(grep -E 'packets captured' "$WORK/$stem.tcpdump.log" || echo '?')"
  done <"$WORK/points"
}

# ---- helpers for traffic ------------------------------------------------------------------
server_start() { # server_start <pod> <tag> <traffic.py args...>; waits for "ready"
  local pod=$1 tag=$2 t; shift 2
  ip netns exec "$(pod_ns "$pod")" "$PYTHON" -u "$TRAFFIC" "$@" >"$WORK/$tag.log" 2>&1 &
  BG_PIDS+=("$!")
  for t in $(seq 50); do grep -q '^ready' "$WORK/$tag.log" && return 0; sleep 0.1; done
  die "server $tag did not start: $(cat "$WORK/$tag.log")"
}
in_pod() { local pod=$1; shift; ip netns exec "$(pod_ns "$pod")" "$@"; }
step() { log "== $*"; echo "== $*" >>"$RUNLOG"; }
run_logged() { "$@" 2>&1 | tee -a "$RUNLOG" >&2 || true; }

# ---- scenario: pod-to-pod --------------------------------------------------------------------
scenario_pod_to_pod_traffic() {
  local a b1 b2 dns
  a=$(pod_ip pod-a); b1=$(pod_ip backend-a); b2=$(pod_ip backend-b); dns=$(pod_ip coredns-0)
  server_start backend-a tcp-server tcp-server "$b1" 8080
  server_start coredns-0 dns-server udp-dns-server "$dns" 53
  server_start backend-b udp-sink udp-sink "$b2" 9999
  sleep 0.5

  step "1 TCP pod-a:52345 -> $b1:8080 (request, response, client FIN then server FIN)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" tcp-client "$a" 52345 "$b1" 8080
  sleep 1
  step "2 UDP pod-a:40000 -> $dns:53 (DNS query A backend.default.svc.cluster.local + reply)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" udp-dns-client "$a" 40000 "$dns" 53
  sleep 1
  step "3 ICMP echo pod-a -> $b2 (ping -c 2)"
  run_logged in_pod pod-a ping -n -c 2 -i 0.5 "$b2"
  sleep 1
  step "4a UDP 1480 payload bytes (IP 1508) pod-a:40001 -> $b2:9999, DF off (IP_PMTUDISC_DONT)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" big-udp "$a" 40001 "$b2" 9999 1480 dont
  sleep 1
  step "4b UDP 1480 payload bytes (IP 1508) pod-a:40002 -> $b2:9999, DF on (IP_PMTUDISC_DO)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" big-udp "$a" 40002 "$b2" 9999 1480 do
  sleep 1
  step "4c ping -M do -s 1472 (IP 1500, DF) pod-a -> $b2, 2 probes 1.1 s apart (ICMP error rate limit)"
  run_logged in_pod pod-a ping -n -M do -s 1472 -c 2 -i 1.1 -W 1 "$b2"
  run_logged in_pod pod-a ip route get "$b2"
  sleep 1
}

# ---- scenario: service (kube-proxy iptables rules, Service VIP, NodePort, REJECT) ------------
# Scenario file pcaps/kernel/service/scenario.yaml pins the backend choice (see its comments).
# Each node's rules come from dpemu itself (`dpemu rules --node N`, iptables-save form) and are
# loaded with iptables-restore: the kernel judges both the syntax and the behaviour.
kube_proxy_setup() { # kube_proxy_setup <scenario dir>: dpemu rules of <dir>/scenario.yaml, iptables-restore in every node
  local n ns dir=$1 out="$OUT_BASE/$(basename "$1")"
  command -v node >/dev/null || die "missing node (Node.js 20) to run dpemu rules"
  [[ -f $REPO/dist/cli/main.js || -f $REPO/bin/dpemu.js ]] || die "build dpemu first (npm run build)"
  for n in "${NODES[@]}"; do
    ns=$(node_ns "$n")
    node "$REPO/bin/dpemu.js" rules --scenario "$dir/scenario.yaml" --node "$n" >"$out/$n.rules" 2>"$WORK/rules-$n.err" \
      || die "dpemu rules --node $n: $(cat "$WORK/rules-$n.err")"
    nx "$ns" iptables-restore <"$out/$n.rules" || die "$n: iptables-restore rejected dpemu's rules"
    # What kube-proxy sets besides the rules (pkg/proxy/iptables, conntrack.go): established 86400 s,
    # close_wait 3600 s; route_localnet=1 for localhost NodePorts (iptables mode default).
    nx "$ns" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=86400 \
      net.netfilter.nf_conntrack_tcp_timeout_close_wait=3600 net.ipv4.conf.all.route_localnet=1
  done
}

kube_proxy_snapshot() { # extra state: counters show which rules the traffic hit
  local out=$1 n ns
  for n in "${NODES[@]}"; do
    ns=$(node_ns "$n")
    { nx "$ns" conntrack -L -o extended 2>&1 || true; } >"$out/$n.conntrack-extended.txt"
    nx "$ns" iptables-save -c >"$out/$n.iptables-save-c.txt"
  done
}

scenario_service_setup() { kube_proxy_setup "$HERE/service"; }
scenario_service_traffic() {
  local a b1 b2 dns n2
  a=$(pod_ip pod-a); b1=$(pod_ip backend-a); b2=$(pod_ip backend-b); dns=$(pod_ip coredns-0); n2=${NODE_IP[node-2]}
  server_start backend-a tcp-server-a tcp-server "$b1" 8080
  server_start backend-b tcp-server-b tcp-server "$b2" 8080
  server_start coredns-0 dns-server udp-dns-server "$dns" 53
  sleep 0.5

  step "1 TCP pod-a:52345 -> Service 10.96.5.20:80 (DNAT on node-1 to backend-a $b1:8080; request, response, close)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" tcp-client "$a" 52345 10.96.5.20 80
  sleep 1
  step "2 UDP pod-a:40000 -> kube-dns 10.96.0.10:53 (DNAT to coredns-0 $dns:53; query + reply)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" udp-dns-client "$a" 40000 10.96.0.10 53
  sleep 1
  step "3 TCP node-2 stack $n2:42000 -> NodePort ${NODE_IP[node-1]}:30080 (node-1: DNAT to backend-b $b2:8080 + MASQUERADE)"
  run_logged nx "$(node_ns node-2)" "$PYTHON" "$TRAFFIC" tcp-client "$n2" 42000 "${NODE_IP[node-1]}" 30080
  sleep 1
  # No endpoints. The cluster IP: the node has no route for 10.96.4.4 (no default route on the test
  # bed), so routing answers ICMP net unreachable before filter FORWARD's REJECT could run.
  step "4 TCP pod-a:52346 -> Service with no endpoints 10.96.4.4:80 (no route on node-1: ICMP net unreachable)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" tcp-connect "$a" 52346 10.96.4.4 80
  sleep 1
  # The same Service's NodePort is a local address: INPUT -> KUBE-EXTERNAL-SERVICES REJECT.
  step "5 TCP node-2 stack $n2:42001 -> NodePort ${NODE_IP[node-1]}:30404 without endpoints (REJECT: ICMP port unreachable)"
  run_logged nx "$(node_ns node-2)" "$PYTHON" "$TRAFFIC" tcp-connect "$n2" 42001 "${NODE_IP[node-1]}" 30404
  sleep 1
}

scenario_service_snapshot() { kube_proxy_snapshot "$1"; }

# ---- scenario: hairpin (a Service's only endpoint connects to the Service's ClusterIP) --------
# pcaps/kernel/hairpin/scenario.yaml = scenario service + Service default/self 10.96.6.6 (TCP 80 -> 8080,
# UDP 53 -> 5353) whose selector matches pod-a only. pod-a runs both ends: node-1 DNATs its packets back
# to pod-a, KUBE-SEP's `-s 10.244.1.5 -j KUBE-MARK-MASQ` marks them and POSTROUTING masquerades them
# (--random-fully) before they leave through the same host veth they came in on.
scenario_hairpin_setup() { kube_proxy_setup "$HERE/hairpin"; }

scenario_hairpin_traffic() {
  local a
  a=$(pod_ip pod-a)
  server_start pod-a tcp-server-self tcp-server "$a" 8080
  server_start pod-a dns-server-self udp-dns-server "$a" 5353
  sleep 0.5

  step "1 TCP pod-a:52345 -> Service 10.96.6.6:80 (DNAT on node-1 back to pod-a $a:8080 + MASQUERADE; request, response, close)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" tcp-client "$a" 52345 10.96.6.6 80
  sleep 1
  step "2 UDP pod-a:40000 -> Service 10.96.6.6:53 (DNAT back to pod-a $a:5353 + MASQUERADE; query + reply)"
  run_logged in_pod pod-a "$PYTHON" "$TRAFFIC" udp-dns-client "$a" 40000 10.96.6.6 53
  sleep 1
  run_logged nx "$(node_ns node-1)" sysctl net.ipv4.conf.all.send_redirects "net.ipv4.conf.$(pod_veth pod-a).send_redirects"
}

scenario_hairpin_snapshot() { kube_proxy_snapshot "$1"; }

# ---- state snapshots, manifest, verification ------------------------------------------------
snapshot_state() { # snapshot_state <outdir>
  local out=$1 n ns
  # wall clock of the conntrack dumps: remaining timeouts count down from here
  date +%s.%N >"$out/conntrack-time.txt"
  for n in "${NODES[@]}"; do
    ns=$(node_ns "$n")
    { nx "$ns" conntrack -L 2>&1 || true; } >"$out/$n.conntrack.txt"
    nx "$ns" ip -d link show "$VXLAN_DEV" >"$out/$n.$VXLAN_DEV.link.txt"
  done
}

write_manifest() { # write_manifest <outdir> <scenario>
  local out=$1 scenario=$2 n entry
  observation_points >"$WORK/points"
  : >"$WORK/nodes.tsv"
  for n in "${NODES[@]}"; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "${NODE_IP[$n]}" "$(node_mac "$n")" "$(vtep_mac "$n")" \
      "${NODE_CIDR[$n]}" "${NODE_VTEP_IP[$n]}" >>"$WORK/nodes.tsv"
  done
  : >"$WORK/pods.tsv"
  for entry in "${PODS[@]}"; do
    IFS='|' read -r pod k8sns ip node labels ports <<<"$entry"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pod" "$k8sns" "$ip" "$node" "$(pod_mac "$ip")" \
      "$(pod_veth "$pod")" "$labels" "$ports" >>"$WORK/pods.tsv"
  done
  SCENARIO="$scenario" OUT="$out" WORK="$WORK" KERNEL="$(uname -r)" IPROUTE2="$(ip -V)" \
  TCPDUMP="$(tcpdump --version 2>&1 | head -1)" CT_HOOK="$CT_HOOK" \
  VXLAN_DEV="$VXLAN_DEV" VXLAN_VNI="$VXLAN_VNI" VXLAN_PORT="$VXLAN_PORT" VXLAN_MTU="$VXLAN_MTU" \
  POD_MTU="$POD_MTU" UL_MTU="$UL_MTU" GW_IP="$GW_IP" GW_MAC="$GW_MAC" REPO="$REPO" \
  "$PYTHON" - <<'EOF'
import json, os
e = os.environ
rows = lambda f: [l.rstrip("\n").split("\t") for l in open(os.path.join(e["WORK"], f)) if l.strip()]
files = []
for stem, ns, dev, node, pod, point in (l.rstrip("\n").split("|") for l in open(os.path.join(e["WORK"], "points"))):
    path = os.path.join(e["OUT"], stem + ".pcap")
    files.append({"file": stem + ".pcap", "node": node, "pod": pod or None, "interface": dev,
                  "netns": ns, "observation_point": point, "bytes": os.path.getsize(path)})
nodes = [{"name": n, "ip": ip, "nic": "eth0", "nic_mac": mac, "vtep_mac": vmac, "pod_cidr": cidr,
          "vtep_ip": vip, "netns": "dpemu-" + n} for n, ip, mac, vmac, cidr, vip in rows("nodes.tsv")]
pods = []
for name, k8sns, ip, node, mac, veth, labels, ports in rows("pods.tsv"):
    pods.append({"name": name, "namespace": k8sns, "ip": ip, "node": node, "mac": mac, "host_veth": veth,
                 "host_veth_mac": e["GW_MAC"], "labels": dict(kv.split("=", 1) for kv in labels.split(",") if kv),
                 "ports": [{"name": p.split(":")[0], "port": int(p.split(":")[1].split("/")[0]),
                            "protocol": p.split("/")[1].upper()} for p in ports.split(",") if p],
                 "netns": "dpemu-pod-" + name})
manifest = {
    "scenario": e["SCENARIO"],
    "generator": "pcaps/kernel/capture-pod-to-pod.sh",
    "kernel": e["KERNEL"], "iproute2": e["IPROUTE2"], "tcpdump": e["TCPDUMP"],
    "conntrack_hook_rule": "iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        if e["CT_HOOK"] == "1" else None,
    "topology": {
        "underlay": {"netns": "dpemu-ul", "bridge": "br0", "prefix_len": 24, "mtu": int(e["UL_MTU"])},
        "vxlan": {"device": e["VXLAN_DEV"], "vni": int(e["VXLAN_VNI"]), "dstport": int(e["VXLAN_PORT"]),
                  "mtu": int(e["VXLAN_MTU"]), "learning": False, "udpcsum": True},
        "pod_mtu": int(e["POD_MTU"]), "pod_gateway": {"ip": e["GW_IP"], "mac": e["GW_MAC"]},
        "nodes": nodes, "pods": pods,
    },
    "offloads": "ethtool -K DEV tx off tso off gso off gro off on every veth and vxlan device",
    "ipv6": "disabled in every namespace before interfaces were created",
    "files": files,
    "state_files": sorted(f for f in os.listdir(e["OUT"]) if f.endswith(".txt")),
}
with open(os.path.join(e["OUT"], "manifest.json"), "w") as fh:
    json.dump(manifest, fh, indent=2)
    fh.write("\n")
EOF
}

verify_captures() { # verify_captures <outdir>: one line per frame with the fields that matter
  local out=$1 f
  {
    for f in "$out"/*.pcap; do
      echo "### $(basename "$f")  fields: frame eth.src eth.dst ip.src ip.dst ip.ttl ip.id ip.df ip.frag_offset(8-byte units) ip.len ip.cksum udp.srcport udp.dstport udp.cksum vni tcp.flags tcp.cksum icmp.type icmp.code icmp.cksum icmp.mtu info (checksum status 1=good 0=bad 2=unverified; outer,inner for VXLAN frames)"
      tshark -r "$f" -d udp.port==$VXLAN_PORT,vxlan -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
        -o tcp.check_checksum:TRUE -T fields -E separator=' ' -E occurrence=a -E aggregator=, \
        -e frame.number -e eth.src -e eth.dst -e ip.src -e ip.dst -e ip.ttl -e ip.id -e ip.flags.df \
        -e ip.frag_offset -e ip.len -e udp.srcport -e udp.dstport -e ip.checksum.status -e udp.checksum.status -e vxlan.vni \
        -e tcp.flags.str -e tcp.checksum.status -e icmp.type -e icmp.code -e icmp.checksum.status -e icmp.mtu -e _ws.col.Info 2>/dev/null
    done
  } >"$out/tshark-fields.txt"
}

# ---- scenario driver ------------------------------------------------------------------------
cleanup() {
  local rc=$?
  set +e
  ((${#CAP_PIDS[@]})) && kill_pids INT "${CAP_PIDS[@]}"
  ((${#BG_PIDS[@]})) && kill_pids TERM "${BG_PIDS[@]}"
  topology_down
  rm -rf "$WORK"
  ((rc == 0)) || log "failed (exit $rc); namespaces removed"
}

run_scenario() { # run_scenario <name>
  local name=$1 fn=${1//-/_}
  declare -F "scenario_${fn}_traffic" >/dev/null || die "unknown scenario $name"
  local out="$OUT_BASE/$name"
  mkdir -p "$out"
  rm -f "$out"/*.pcap "$out"/*.txt "$out/manifest.json"
  RUNLOG="$out/run.txt"  # *.log is git-ignored
  : >"$RUNLOG"
  log "scenario $name: topology up"
  topology_up
  if declare -F "scenario_${fn}_setup" >/dev/null; then "scenario_${fn}_setup"; fi
  capture_start "$out"
  "scenario_${fn}_traffic"
  snapshot_state "$out"
  if declare -F "scenario_${fn}_snapshot" >/dev/null; then "scenario_${fn}_snapshot" "$out"; fi
  capture_stop
  # background jobs of a non-interactive shell inherit SIGINT ignored: stop servers with TERM
  ((${#BG_PIDS[@]})) && kill_pids TERM "${BG_PIDS[@]}"
  BG_PIDS=()
  for f in "$WORK"/*.log; do case $f in *.tcpdump.log) ;; *) { echo "== server $(basename "$f" .log)"; cat "$f"; } >>"$RUNLOG";; esac; done
  verify_captures "$out"
  write_manifest "$out" "$name"
  topology_down
  log "scenario $name: wrote $(ls "$out" | wc -l) files to ${out#"$REPO"/}"
}

main() {
  [[ $EUID -eq 0 ]] || die "run as root (sudo bash $0)"
  local tool
  for tool in ip bridge ethtool tcpdump tshark conntrack iptables sha1sum "$PYTHON"; do
    command -v "$tool" >/dev/null || die "missing $tool (Debian: apt-get install iproute2 ethtool tcpdump tshark conntrack iptables)"
  done
  trap cleanup EXIT
  topology_down   # leftovers from an earlier aborted run
  local scenarios=("$@")
  ((${#scenarios[@]})) || scenarios=(pod-to-pod)
  for s in "${scenarios[@]}"; do run_scenario "$s"; done
  if [[ " ${scenarios[*]} " == *" pod-to-pod "* && $OUT_BASE == "$HERE" ]]; then
    mkdir -p "$REPO/pcaps/default"
    cp "$HERE/pod-to-pod/pod-a.eth0.pcap" "$REPO/pcaps/default/pod-a.pcap"
    log "copied pod-a capture to pcaps/default/pod-a.pcap"
  fi
}

main "$@"
