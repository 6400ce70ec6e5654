/* UDP blaster for bench/kernel-peer.sh: sends 64-byte UDP payloads with sendmmsg to DST:PORT for SECONDS.
 * Mode "flows": FLOWS source ports (bound sockets), so conntrack sees established flows.
 * Mode "new": raw IP_HDRINCL packets with a fresh source address/port each (10.201.0.0/16 x ports), so every
 * packet is a new conntrack entry and walks the nat table (the kube-proxy KUBE-SERVICES chain). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: blaster flows|new DST PORT SECONDS\n"); return 2; }
  int isNew = strcmp(argv[1], "new") == 0;
  in_addr_t dst = inet_addr(argv[2]);
  int port = atoi(argv[3]);
  double secs = atof(argv[4]);
  enum { B = 64, FLOWS = 64 };
  static char pkt[B][128];
  struct mmsghdr msgs[B];
  struct iovec iov[B];
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = dst };
  int fds[FLOWS], nf = 0, raw = -1;
  if (isNew) {
    raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (raw < 0) { perror("raw socket"); return 1; }
  } else {
    for (nf = 0; nf < FLOWS; nf++) {
      fds[nf] = socket(AF_INET, SOCK_DGRAM, 0);
      struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(30000 + nf) };
      if (bind(fds[nf], (struct sockaddr *)&me, sizeof me) < 0) { perror("bind"); return 1; }
    }
  }
  memset(msgs, 0, sizeof msgs);
  unsigned long long sent = 0; unsigned seq = 1;
  double end = now() + secs;
  int f = 0;
  while (now() < end) {
    for (int i = 0; i < B; i++) {
      if (isNew) {
        struct iphdr *ip = (struct iphdr *)pkt[i];
        struct udphdr *udp = (struct udphdr *)(pkt[i] + 20);
        memset(ip, 0, 20);
        ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->protocol = IPPROTO_UDP;
        ip->tot_len = htons(20 + 8 + 64);
        ip->saddr = htonl(0x0ac90000u | (seq & 0xffff)); /* 10.201.x.y */
        ip->daddr = dst;
        udp->source = htons(1024 + ((seq >> 16) % 60000)); udp->dest = htons(port);
        udp->len = htons(8 + 64); udp->check = 0;
        seq++;
        iov[i].iov_base = pkt[i]; iov[i].iov_len = 20 + 8 + 64;
      } else {
        iov[i].iov_base = pkt[i]; iov[i].iov_len = 64;
      }
      msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &to; msgs[i].msg_hdr.msg_namelen = sizeof to;
    }
    int fd = isNew ? raw : fds[f++ % nf];
    int n = sendmmsg(fd, msgs, B, 0);
    if (n > 0) sent += n;
  }
  printf("%llu\n", sent);
  return 0;
}
