#!/usr/bin/env python3
"""Deterministic-as-possible traffic endpoints for capture-pod-to-pod.sh.

Run inside a pod namespace (`ip netns exec dpemu-pod-X python3 traffic.py CMD ...`).
Servers print "ready" once bound so the driver can wait for them instead of sleeping
blindly; every endpoint prints one line per event so the run log records what the
kernel did (e.g. EMSGSIZE on a DF send that exceeds the cached path MTU).
"""
import errno
import socket
import struct
import sys
import time

# Linux values (socket module does not export all of them on every build).
IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DONT = getattr(socket, "IP_PMTUDISC_DONT", 0)
IP_PMTUDISC_DO = getattr(socket, "IP_PMTUDISC_DO", 2)

REQUEST = b"GET / HTTP/1.1\r\nHost: backend\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
QNAME = "backend.default.svc.cluster.local"
ANSWER_IP = "10.96.5.20"  # the Service VIP the next scenario adds


def log(*a):
    print(*a, flush=True)


def dns_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def dns_query():
    # id 0x1234, RD set, one question, type A, class IN
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + dns_name(QNAME) + struct.pack("!HH", 1, 1)


def dns_reply(query):
    qid = struct.unpack("!H", query[:2])[0]
    question = query[12:]
    header = struct.pack("!HHHHHH", qid, 0x8580, 1, 1, 0, 0)  # QR AA RD RA, NOERROR
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + socket.inet_aton(ANSWER_IP)
    return header + question + answer


def tcp_server(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port)))
    s.listen(1)
    log("ready")
    c, peer = s.accept()
    log("accepted", peer)
    req = b""
    while b"\r\n\r\n" not in req:
        chunk = c.recv(4096)
        if not chunk:
            break
        req += chunk
    log("request", req)
    c.sendall(RESPONSE)
    # Wait for the client's FIN, then close: client FIN first, server FIN second.
    while c.recv(4096):
        pass
    log("client closed; closing")
    c.close()
    s.close()


def tcp_client(src_ip, sport, dst_ip, dport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src_ip, int(sport)))
    s.connect((dst_ip, int(dport)))
    s.sendall(REQUEST)
    resp = b""
    while b"ok\n" not in resp:
        chunk = s.recv(4096)
        if not chunk:
            break
        resp += chunk
    log("response", resp)
    s.shutdown(socket.SHUT_WR)  # our FIN
    while s.recv(4096):  # server's FIN
        pass
    s.close()
    log("closed")


def tcp_connect(src_ip, sport, dst_ip, dport):
    """Connect only and report the outcome (a REJECTed Service: ECONNREFUSED from ICMP port unreachable)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src_ip, int(sport)))
    s.settimeout(3)
    try:
        s.connect((dst_ip, int(dport)))
        log("connected")
    except OSError as e:
        log("connect failed", errno.errorcode.get(e.errno, e.errno), e.strerror)
    s.close()


def udp_dns_server(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    log("ready")
    data, peer = s.recvfrom(4096)
    log("query from", peer, len(data))
    s.sendto(dns_reply(data), peer)
    s.close()


def udp_dns_client(src_ip, sport, dst_ip, dport):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, int(sport)))
    s.settimeout(3)
    s.sendto(dns_query(), (dst_ip, int(dport)))
    data, peer = s.recvfrom(4096)
    log("reply from", peer, len(data))
    s.close()


def udp_sink(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    log("ready")
    s.settimeout(30)
    while True:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        log("sink got", len(data), "bytes from", peer)


def big_udp(src_ip, sport, dst_ip, dport, size, mode):
    """Send one datagram of `size` payload bytes with DF off (dont) or on (do)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, int(sport)))
    s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO if mode == "do" else IP_PMTUDISC_DONT)
    payload = bytes((i % 251) for i in range(int(size)))
    try:
        n = s.sendto(payload, (dst_ip, int(dport)))
        log("sent", n, "bytes pmtudisc=" + mode)
    except OSError as e:
        log("send failed pmtudisc=" + mode, errno.errorcode.get(e.errno, e.errno), e.strerror)
    time.sleep(0.3)
    try:
        log("IP_MTU after send", s.getsockopt(socket.IPPROTO_IP, getattr(socket, "IP_MTU", 14)))
    except OSError as e:
        log("IP_MTU unavailable (unconnected socket):", e.strerror)
    s.close()


CMDS = {
    "tcp-server": tcp_server,
    "tcp-client": tcp_client,
    "tcp-connect": tcp_connect,
    "udp-dns-server": udp_dns_server,
    "udp-dns-client": udp_dns_client,
    "udp-sink": udp_sink,
    "big-udp": big_udp,
}

if __name__ == "__main__":
    CMDS[sys.argv[1]](*sys.argv[2:])
