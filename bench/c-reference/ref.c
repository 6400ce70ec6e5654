/*
 * Plain C reference for the native fast path's work on one packet (no addon, no Node): parse
 * Ethernet/IPv4/TCP (+ IPv4 header checksum check), conntrack lookup in a chained hash table with
 * dpemu's conntrack hash (src/conntrack/table.ts), a new entry on a miss with a Service backend
 * chosen by hash (DNAT binding), TCP state/timeout refresh, Service DNAT rewrite with RFC 1624
 * incremental checksums, TTL decrement, a policy map lookup (identity, port, proto), and VXLAN
 * encapsulation (outer Ethernet/IPv4/UDP/VXLAN, IPv4 header checksum, flow-hash source port).
 *
 * With `full`, the rest of the path dpemu emulates for the same frames: node-1 tracks the outer UDP
 * flow, node-2 parses and checks the outer headers, tracks the outer flow, strips VXLAN, parses the
 * inner frame, tracks the inner connection, decrements TTL, checks ingress policy and delivers.
 *
 * Usage: ref <frames.bin> <packets> [full] ; frames.bin = repeated [u32 little-endian length][frame bytes].
 * Prints one line: `ns_per_packet=<x> packets=<n> checksum=<sum>` (the checksum keeps the work live).
 * Built by src/native/pipeline-bench.ts with `gcc -O3 -march=native`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint32_t rd16(const uint8_t *b) { return ((uint32_t)b[0] << 8) | b[1]; }
static inline uint32_t rd32(const uint8_t *b) { return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3]; }
static inline void wr16(uint8_t *b, uint32_t v) { b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v; }
static inline void wr32(uint8_t *b, uint32_t v) { b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16); b[2] = (uint8_t)(v >> 8); b[3] = (uint8_t)v; }
static inline uint32_t fold(uint64_t s) { while (s > 0xffff) s = (s & 0xffff) + (s >> 16); return (uint32_t)s; }
static inline uint32_t csum_upd32(uint32_t hc, uint32_t o, uint32_t n) {
  return ~fold((uint64_t)(~hc & 0xffff) + (~(o >> 16) & 0xffff) + (~o & 0xffff) + (n >> 16) + (n & 0xffff)) & 0xffff;
}
static inline uint32_t csum_upd16(uint32_t hc, uint32_t o, uint32_t n) {
  return ~fold((uint64_t)(~hc & 0xffff) + (~o & 0xffff) + (n & 0xffff)) & 0xffff;
}
static inline uint32_t ip_csum(const uint8_t *h, int ihl) {
  uint64_t s = 0;
  for (int i = 0; i < ihl; i += 2) s += rd16(h + i);
  return ~fold(s) & 0xffff;
}
static inline uint32_t rotl13(uint32_t h) { return (h << 13) | (h >> 19); }
static inline uint32_t ct_hash(uint32_t proto, uint32_t src, uint32_t dst, uint32_t sp, uint32_t dp) {
  uint32_t h = proto * 0x9e3779b1u;
  h = rotl13((h ^ src) * 0x85ebca6bu);
  h = rotl13((h ^ dst) * 0xc2b2ae35u);
  h = (h ^ ((sp << 16) | dp)) * 0x27d4eb2fu;
  h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13;
  return h;
}

#define CT_MAX (1u << 18)
#define CT_MASK (CT_MAX - 1)
typedef struct { uint32_t src, dst; uint16_t sp, dp; int32_t next; uint32_t bsrc; uint16_t bport; uint8_t state, proto; double deadline; } ct_entry;
/* One conntrack table per node (node-1 sends, node-2 receives). */
typedef struct { ct_entry e[CT_MAX]; int32_t buckets[CT_MAX]; uint32_t count; } ct_table;
static ct_table ct1, ct2;

/* Finds or inserts the entry of (proto, src, dst, sp, dp); -1 when full. */
static inline int32_t ct_find(ct_table *t, uint32_t proto, uint32_t src, uint32_t dst, uint32_t sp, uint32_t dp, int *fresh) {
  const uint32_t h = ct_hash(proto, src, dst, sp, dp) & CT_MASK;
  int32_t e = t->buckets[h];
  while (e >= 0 && !(t->e[e].src == src && t->e[e].dst == dst && t->e[e].sp == sp && t->e[e].dp == dp && t->e[e].proto == proto)) e = t->e[e].next;
  *fresh = 0;
  if (e >= 0) return e;
  if (t->count >= CT_MAX) return -1;
  e = (int32_t)t->count++;
  t->e[e] = (ct_entry){ src, dst, (uint16_t)sp, (uint16_t)dp, t->buckets[h], dst, (uint16_t)dp, 1, (uint8_t)proto, 0 };
  t->buckets[h] = e;
  *fresh = 1;
  return e;
}

#define POL_SIZE 4096
typedef struct { uint32_t key; uint8_t used, allow; } pol_entry;
static pol_entry pol[POL_SIZE];
static void pol_put(uint32_t key, uint8_t allow) {
  uint32_t i = (key * 2654435761u) & (POL_SIZE - 1);
  while (pol[i].used && pol[i].key != key) i = (i + 1) & (POL_SIZE - 1);
  pol[i].used = 1; pol[i].key = key; pol[i].allow = allow;
}
static inline int pol_get(uint32_t key) {
  uint32_t i = (key * 2654435761u) & (POL_SIZE - 1);
  while (pol[i].used) { if (pol[i].key == key) return pol[i].allow; i = (i + 1) & (POL_SIZE - 1); }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: ref frames.bin packets [full]\n"); return 2; }
  // full: the whole path dpemu emulates (node-1 out, node-2 in and delivery), not node-1's work only.
  const int full = argc > 3 && strcmp(argv[3], "full") == 0;
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  fseek(f, 0, SEEK_END); long sz = ftell(f); fseek(f, 0, SEEK_SET);
  uint8_t *raw = malloc((size_t)sz);
  if (fread(raw, 1, (size_t)sz, f) != (size_t)sz) return 2;
  fclose(f);
  size_t nframes = 0;
  for (long o = 0; o < sz; nframes++) { uint32_t l; memcpy(&l, raw + o, 4); o += 4 + l; }
  const uint8_t **fr = malloc(nframes * sizeof *fr);
  uint32_t *fl = malloc(nframes * sizeof *fl);
  { long o = 0; for (size_t i = 0; i < nframes; i++) { uint32_t l; memcpy(&l, raw + o, 4); fr[i] = raw + o + 4; fl[i] = l; o += 4 + l; } }
  const long packets = atol(argv[2]);
  // The capture in memory: `packets` frames (the generated ones repeated), each in a buffer with headroom.
  enum { HEAD = 64, SLOT = 2048 };
  uint8_t *mem = malloc((size_t)packets * SLOT);
  uint32_t *len = malloc((size_t)packets * sizeof *len);
  for (long i = 0; i < packets; i++) { memcpy(mem + (size_t)i * SLOT + HEAD, fr[i % nframes], fl[i % nframes]); len[i] = fl[i % nframes]; }
  memset(ct1.buckets, 0xff, sizeof ct1.buckets);
  memset(ct2.buckets, 0xff, sizeof ct2.buckets);
  const uint32_t vip = (10u << 24) | (96u << 16) | (5u << 8) | 20u;
  const uint32_t backends[2] = { (10u << 24) | (244u << 16) | (1u << 8) | 10u, (10u << 24) | (244u << 16) | (2u << 8) | 10u };
  pol_put((1u << 16) | 8080u, 1);  // identity 1 (app=client) -> TCP 8080 allowed
  const uint32_t node_ip = (192u << 24) | (168u << 16) | (1u << 8) | 11u, remote = (192u << 24) | (168u << 16) | (1u << 8) | 12u;
  uint64_t sum = 0;
  uint16_t ipid = 0;
  long delivered = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < packets; i++) {
    uint8_t *b = mem + (size_t)i * SLOT + HEAD;
    const uint32_t n = len[i];
    double now = 1.7e9 + (double)i * 1e-6;
    if (n < 54 || rd16(b + 12) != 0x0800) continue;
    uint8_t *ip = b + 14;
    const int ihl = (ip[0] & 15) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip_csum(ip, ihl) != 0) continue;
    if (ip[9] != 6) continue;
    uint8_t *tcp = ip + ihl;
    const uint32_t src = rd32(ip + 12), dst = rd32(ip + 16), sp = rd16(tcp), dp = rd16(tcp + 2);
    const uint32_t flags = tcp[13];
    int fresh;
    const int32_t e = ct_find(&ct1, 6, src, dst, sp, dp, &fresh);
    if (e < 0) continue;
    ct_entry *ce = &ct1.e[e];
    if (fresh && dst == vip && dp == 80) { ce->bsrc = backends[ct_hash(6, src, sp, 0, 0) & 1]; ce->bport = 8080; }
    ce->state = (flags & 4) ? 8 : (flags & 1) ? 4 : 3;
    ce->deadline = now + 432000;
    // DNAT to the entry's backend
    const uint32_t nd = ce->bsrc, np = ce->bport;
    if (nd != dst) { wr32(ip + 16, nd); wr16(ip + 10, csum_upd32(rd16(ip + 10), dst, nd)); wr16(tcp + 16, csum_upd32(rd16(tcp + 16), dst, nd)); }
    if (np != dp) { wr16(tcp + 2, np); wr16(tcp + 16, csum_upd16(rd16(tcp + 16), dp, np)); }
    // TTL
    const uint32_t old = rd16(ip + 8);
    ip[8]--;
    wr16(ip + 10, csum_upd16(rd16(ip + 10), old, rd16(ip + 8)));
    // policy: identity of the source (1: the client subnet) -> port
    const uint32_t ident = (src >> 16) == ((10u << 8) | 244u) ? 1 : 2;
    if (!pol_get((ident << 16) | np)) continue;
    // VXLAN encap into the headroom
    uint8_t *o = b - 50;
    const uint32_t sport = 32768u + (uint32_t)(((uint64_t)ct_hash(6, src, nd, (sp << 16) | np, 0) * (61000u - 32768u)) >> 32);
    memset(o, 0x02, 12);
    wr16(o + 12, 0x0800);
    uint8_t *oi = o + 14;
    oi[0] = 0x45; oi[1] = 0; wr16(oi + 2, 36 + n); wr16(oi + 4, ipid++); wr16(oi + 6, 0); oi[8] = 64; oi[9] = 17; wr16(oi + 10, 0);
    wr32(oi + 12, node_ip); wr32(oi + 16, remote);
    wr16(oi + 10, ip_csum(oi, 20));
    uint8_t *u = oi + 20;
    wr16(u, sport); wr16(u + 2, 8472); wr16(u + 4, 16 + n); wr16(u + 6, 0);
    wr32(u + 8, 0x08000000u); wr32(u + 12, 1u << 8);
    sum += rd16(oi + 10) + sport;
    if (!full) continue;
    // --- the rest of the path: node-1 tracks the outer UDP flow (OUTPUT), node-2 receives it:
    // outer parse and checksum, its conntrack, VXLAN decap, inner parse, inner conntrack, TTL, policy, delivery.
    {
      int f1;
      const int32_t oe = ct_find(&ct1, 17, node_ip, remote, sport, 8472, &f1);
      if (oe < 0) continue;
      ct1.e[oe].deadline = now + 30;
      uint8_t *r = o;
      if (rd16(r + 12) != 0x0800) continue;
      uint8_t *rip = r + 14;
      if ((rip[0] >> 4) != 4 || ip_csum(rip, 20) != 0 || rip[9] != 17) continue;
      uint8_t *ru = rip + 20;
      if (rd16(ru + 2) != 8472 || rd16(ru + 4) != 16 + n) continue;
      int f2;
      const int32_t re = ct_find(&ct2, 17, rd32(rip + 12), rd32(rip + 16), rd16(ru), 8472, &f2);
      if (re < 0) continue;
      ct2.e[re].deadline = now + 30;
      if ((rd32(ru + 8) & 0x08000000u) == 0 || (rd32(ru + 12) >> 8) != 1) continue;
      uint8_t *ib = ru + 16;                       // inner frame: strip 50 bytes
      if (rd16(ib + 12) != 0x0800) continue;
      uint8_t *iip = ib + 14;
      const int iihl = (iip[0] & 15) * 4;
      if ((iip[0] >> 4) != 4 || iihl < 20 || ip_csum(iip, iihl) != 0 || iip[9] != 6) continue;
      uint8_t *it = iip + iihl;
      int f3;
      const int32_t ie = ct_find(&ct2, 6, rd32(iip + 12), rd32(iip + 16), rd16(it), rd16(it + 2), &f3);
      if (ie < 0) continue;
      ct2.e[ie].state = (it[13] & 4) ? 8 : (it[13] & 1) ? 4 : 3;
      ct2.e[ie].deadline = now + 432000;
      const uint32_t o2 = rd16(iip + 8);
      iip[8]--;
      wr16(iip + 10, csum_upd16(rd16(iip + 10), o2, rd16(iip + 8)));
      const uint32_t id2 = (rd32(iip + 12) >> 16) == ((10u << 8) | 244u) ? 1 : 2;
      if (!pol_get((id2 << 16) | rd16(it + 2))) continue;
      memset(ib, 0x04, 12);                         // MACs of the pod's veth
      delivered++;
      sum += rd16(iip + 10);
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
  printf("ns_per_packet=%.2f packets=%ld checksum=%llu entries=%u full=%d delivered=%ld\n", ns / (double)packets, packets, (unsigned long long)sum, ct1.count + ct2.count, full, delivered);
  return 0;
}
