// N-API entry points (node-addon-api, C++ exceptions disabled: errors are thrown as JS errors and
// the function returns). Setup calls wrap the pool and node tables once; the per-vector calls take
// the vector's slots and count plus the stage's drop counters and a hand-back mark array.
#include <napi.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "drop_reasons.h"
#include "layouts.h"
#include "conntrack.h"
#include "stages.h"

namespace dpemu {
namespace {

struct PoolHandle {
  PoolView view;
  std::vector<Napi::ObjectReference> keep;  // the typed arrays behind the pointers
};

struct NodeHandle {
  NodeView view;
  std::vector<Napi::ObjectReference> keep;
};

bool fail(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

template <typename T>
bool typed(Napi::Env env, Napi::Value v, napi_typedarray_type type, T** out, size_t* len, std::vector<Napi::ObjectReference>* keep, const char* what) {
  if (!v.IsTypedArray()) return fail(env, what);
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) return fail(env, what);
  *out = reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  if (len) *len = ta.ElementLength();
  if (keep) keep->push_back(Napi::Persistent(ta.As<Napi::Object>()));
  return true;
}

// attachPool({ bytes: Uint8Array (whole backing), slotBytes, size, start, len, wireLen, device, next, drop, verdict, l3, l4, aux0, aux1, aux2, ownBuf })
Napi::Value AttachPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachPool(pool arrays)"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<PoolHandle>();
  PoolView& p = h->view;
  auto& k = h->keep;
  size_t n = 0;
  bool ok = typed(env, o.Get("bytes"), napi_uint8_array, &p.bytes, &n, &k, "bytes must be a Uint8Array");
  p.slotBytes = o.Get("slotBytes").ToNumber().Int64Value();
  p.size = o.Get("size").ToNumber().Int32Value();
  if (ok && (p.slotBytes <= 0 || p.size <= 0 || int64_t(n) < p.slotBytes * p.size)) ok = fail(env, "bytes must hold size * slotBytes");
  size_t m = 0;
  auto meta = [&](const char* name, napi_typedarray_type t, auto** ptr) {
    if (!ok) return;
    ok = typed(env, o.Get(name), t, ptr, &m, &k, name) && (int64_t(m) >= p.size || fail(env, name));
  };
  meta("start", napi_int32_array, &p.start);
  meta("len", napi_int32_array, &p.len);
  meta("wireLen", napi_int32_array, &p.wireLen);
  meta("device", napi_int32_array, &p.device);
  meta("next", napi_int16_array, &p.next);
  meta("drop", napi_uint16_array, &p.drop);
  meta("verdict", napi_uint8_array, &p.verdict);
  meta("l3", napi_int32_array, &p.l3);
  meta("l4", napi_int32_array, &p.l4);
  meta("aux0", napi_int32_array, &p.aux0);
  meta("aux1", napi_int32_array, &p.aux1);
  meta("aux2", napi_int32_array, &p.aux2);
  meta("ownBuf", napi_uint8_array, &p.ownBuf);
  meta("ct", napi_int32_array, &p.ct);
  meta("ctinfo", napi_uint8_array, &p.ctinfo);
  meta("tsSec", napi_float64_array, &p.tsSec);
  meta("tsNsec", napi_uint32_array, &p.tsNsec);
  meta("node", napi_int16_array, &p.node);
  meta("ingress", napi_int32_array, &p.ingress);
  meta("mark", napi_uint32_array, &p.mark);
  meta("flags", napi_uint32_array, &p.flags);
  meta("frameNo", napi_int32_array, &p.frameNo);
  if (!ok) return env.Undefined();
  return Napi::External<PoolHandle>::New(env, h.release(), [](Napi::Env, PoolHandle* x) { delete x; });
}

// attachNode({ devices: Uint8Array of native_device_v1, fdb: Uint8Array of native_fdb_entry_v1, nic, vxlanDev, nodeIp, vni, port, udpCsum, hashSeed })
Napi::Value AttachNode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachNode(node tables)"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<NodeHandle>();
  NodeView& v = h->view;
  uint8_t* dev = nullptr;
  uint8_t* fdb = nullptr;
  size_t devLen = 0, fdbLen = 0;
  if (!typed(env, o.Get("devices"), napi_uint8_array, &dev, &devLen, &h->keep, "devices must be a Uint8Array")) return env.Undefined();
  if (!typed(env, o.Get("fdb"), napi_uint8_array, &fdb, &fdbLen, &h->keep, "fdb must be a Uint8Array")) return env.Undefined();
  if (devLen % sizeof(native_device_v1) != 0 || fdbLen % sizeof(native_fdb_entry_v1) != 0 ||
      reinterpret_cast<uintptr_t>(dev) % alignof(native_device_v1) != 0 || reinterpret_cast<uintptr_t>(fdb) % alignof(native_fdb_entry_v1) != 0) {
    fail(env, "device/fdb tables: wrong size or alignment");
    return env.Undefined();
  }
  v.devices = reinterpret_cast<const native_device_v1*>(dev);
  v.deviceCount = int32_t(devLen / sizeof(native_device_v1));
  v.fdb = reinterpret_cast<const native_fdb_entry_v1*>(fdb);
  v.fdbCount = int32_t(fdbLen / sizeof(native_fdb_entry_v1));
  v.nic = o.Get("nic").ToNumber().Int32Value();
  v.vxlanDev = o.Get("vxlanDev").ToNumber().Int32Value();
  v.nodeIp = o.Get("nodeIp").ToNumber().Uint32Value();
  v.vni = o.Get("vni").ToNumber().Uint32Value();
  v.port = o.Get("port").ToNumber().Uint32Value();
  v.udpCsum = o.Get("udpCsum").ToBoolean().Value();
  v.hashSeed = o.Get("hashSeed").ToNumber().Uint32Value();
  if (v.nic < 0 || v.nic >= v.deviceCount || v.vxlanDev >= v.deviceCount) { fail(env, "nic/vxlanDev out of the device table"); return env.Undefined(); }
  return Napi::External<NodeHandle>::New(env, h.release(), [](Napi::Env, NodeHandle* x) { delete x; });
}

struct CtHandle {
  CtView view;
  std::vector<Napi::ObjectReference> keep;
};

// attachConntrack(ConntrackTable.nativeView()): the node's nf_conntrack arrays (src/conntrack/table.ts layout),
// hash parameters, timeouts and the TCP transition / valid-flags tables as data.
Napi::Value AttachConntrack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachConntrack(table view)"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<CtHandle>();
  CtView& v = h->view;
  auto& k = h->keep;
  v.max = o.Get("max").ToNumber().Int32Value();
  v.mask = o.Get("mask").ToNumber().Uint32Value();
  v.seed = o.Get("seed").ToNumber().Uint32Value();
  const int64_t nodes = int64_t(v.max) * 2;
  bool ok = v.max > 0;
  size_t m = 0;
  auto arr = [&](const char* name, napi_typedarray_type t, auto** ptr, int64_t need) {
    if (!ok) return;
    ok = typed(env, o.Get(name), t, ptr, &m, &k, name) && (int64_t(m) >= need || fail(env, name));
  };
  arr("tSrc", napi_uint32_array, &v.tSrc, nodes);
  arr("tDst", napi_uint32_array, &v.tDst, nodes);
  arr("tSport", napi_uint16_array, &v.tSport, nodes);
  arr("tDport", napi_uint16_array, &v.tDport, nodes);
  arr("tNext", napi_int32_array, &v.tNext, nodes);
  arr("proto", napi_uint8_array, &v.proto, v.max);
  arr("slot", napi_uint8_array, &v.slot, v.max);
  arr("tcpState", napi_uint8_array, &v.tcpState, v.max);
  arr("lastIndex", napi_uint8_array, &v.lastIndex, v.max);
  arr("lastDir", napi_uint8_array, &v.lastDir, v.max);
  arr("retrans", napi_uint8_array, &v.retrans, v.max);
  arr("lastFlags", napi_uint8_array, &v.lastFlags, v.max);
  arr("tcpFlags", napi_uint8_array, &v.tcpFlags, nodes);
  arr("zone", napi_uint16_array, &v.zone, v.max);
  arr("lastWin", napi_uint16_array, &v.lastWin, v.max);
  arr("status", napi_uint32_array, &v.status, v.max);
  arr("tdEnd", napi_uint32_array, &v.tdEnd, nodes);
  arr("lastSeq", napi_uint32_array, &v.lastSeq, v.max);
  arr("lastAck", napi_uint32_array, &v.lastAck, v.max);
  arr("lastEnd", napi_uint32_array, &v.lastEnd, v.max);
  arr("deadline", napi_float64_array, &v.deadline, v.max);
  arr("streamTs", napi_float64_array, &v.streamTs, v.max);
  arr("buckets", napi_int32_array, &v.buckets, int64_t(v.mask) + 1);
  double* tt = nullptr;
  uint8_t* tr = nullptr;
  uint8_t* vf = nullptr;
  arr("tcpTimeouts", napi_float64_array, &tt, 14);
  arr("transitions", napi_uint8_array, &tr, 120);
  arr("validFlags", napi_uint8_array, &vf, 256);
  if (!ok) return env.Undefined();
  for (int i = 0; i < 14; i++) v.tcpTimeouts[i] = tt[i];
  for (int i = 0; i < 120; i++) v.transitions[i] = tr[i];
  for (int i = 0; i < 256; i++) v.validFlags[i] = vf[i];
  v.udpTimeout = o.Get("udpTimeout").ToNumber().DoubleValue();
  v.udpStreamTimeout = o.Get("udpStreamTimeout").ToNumber().DoubleValue();
  return Napi::External<CtHandle>::New(env, h.release(), [](Napi::Env, CtHandle* x) { delete x; });
}

// Common per-vector arguments: (pool, node|null, slots: Int32Array, n, drops: Float64Array, handBack: Uint8Array, ...)
bool callArgs(const Napi::CallbackInfo& info, PoolHandle** pool, NodeHandle** node, Call* c) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsExternal()) return fail(env, "stage(pool, node, slots, n, drops, handBack)");
  *pool = info[0].As<Napi::External<PoolHandle>>().Data();
  *node = info[1].IsExternal() ? info[1].As<Napi::External<NodeHandle>>().Data() : nullptr;
  int32_t* slots = nullptr;
  double* drops = nullptr;
  size_t slotsLen = 0, dropsLen = 0, handLen = 0;
  if (!typed(env, info[2], napi_int32_array, &slots, &slotsLen, nullptr, "slots must be an Int32Array")) return false;
  c->n = info[3].ToNumber().Int32Value();
  if (!typed(env, info[4], napi_float64_array, &drops, &dropsLen, nullptr, "drops must be a Float64Array")) return false;
  if (!typed(env, info[5], napi_uint8_array, &c->handBack, &handLen, nullptr, "handBack must be a Uint8Array")) return false;
  if (c->n < 0 || size_t(c->n) > slotsLen || size_t(c->n) > handLen) return fail(env, "n exceeds the slot or hand-back array");
  const PoolView& p = (*pool)->view;
  for (int32_t i = 0; i < c->n; i++) if (slots[i] < 0 || slots[i] >= p.size) return fail(env, "slot out of the pool");
  c->slots = slots;
  c->drops = drops;
  c->dropsLen = int32_t(dropsLen);
  return true;
}

// (slots: Int32Array, n, drops: Float64Array, handBack: Uint8Array) from argument index `at`.
bool vectorArgs(const Napi::CallbackInfo& info, size_t at, PoolHandle* pool, Call* c) {
  Napi::Env env = info.Env();
  int32_t* slots = nullptr;
  double* drops = nullptr;
  size_t slotsLen = 0, dropsLen = 0, handLen = 0;
  if (!typed(env, info[at], napi_int32_array, &slots, &slotsLen, nullptr, "slots must be an Int32Array")) return false;
  c->n = info[at + 1].ToNumber().Int32Value();
  if (!typed(env, info[at + 2], napi_float64_array, &drops, &dropsLen, nullptr, "drops must be a Float64Array")) return false;
  if (!typed(env, info[at + 3], napi_uint8_array, &c->handBack, &handLen, nullptr, "handBack must be a Uint8Array")) return false;
  if (c->n < 0 || size_t(c->n) > slotsLen || size_t(c->n) > handLen) return fail(env, "n exceeds the slot or hand-back array");
  for (int32_t i = 0; i < c->n; i++) if (slots[i] < 0 || slots[i] >= pool->view.size) return fail(env, "slot out of the pool");
  c->slots = slots;
  c->drops = drops;
  c->dropsLen = int32_t(dropsLen);
  return true;
}

#define NODE_STAGE(Name, fn)                                                              \
  Napi::Value Name(const Napi::CallbackInfo& info) {                                      \
    PoolHandle* pool; NodeHandle* node; Call c;                                           \
    if (!callArgs(info, &pool, &node, &c)) return info.Env().Undefined();                 \
    if (node == nullptr) { fail(info.Env(), "node handle required"); return info.Env().Undefined(); } \
    return Napi::Number::New(info.Env(), fn(pool->view, node->view, c));                  \
  }

NODE_STAGE(EthernetInput, ethernetInput)
NODE_STAGE(Ip4Forward, ip4Forward)
NODE_STAGE(Vxlan4Decap, vxlan4Decap)

Napi::Value Ip4Input(const Napi::CallbackInfo& info) {
  PoolHandle* pool; NodeHandle* node; Call c;
  if (!callArgs(info, &pool, &node, &c)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ip4Input(pool->view, c));
}

// vxlan4Encap(pool, node, slots, n, drops, handBack, ipId: Int32Array(1) in/out, checkOnly)
Napi::Value Vxlan4Encap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolHandle* pool; NodeHandle* node; Call c;
  if (!callArgs(info, &pool, &node, &c)) return env.Undefined();
  if (node == nullptr) { fail(env, "node handle required"); return env.Undefined(); }
  int32_t* ipId = nullptr;
  size_t len = 0;
  if (!typed(env, info[6], napi_int32_array, &ipId, &len, nullptr, "ipId must be an Int32Array") || len < 1) return env.Undefined();
  if (info.Length() > 7 && info[7].ToBoolean().Value()) return Napi::Number::New(env, vxlan4EncapCheck(pool->view, c));
  uint32_t id = uint32_t(ipId[0]) & 0xffff;
  const int32_t r = vxlan4Encap(pool->view, node->view, c, &id);
  ipId[0] = int32_t(id);
  return Napi::Number::New(env, r);
}

// nf4Prerouting(pool, ct, slots, n, drops, handBack, now, out, from) -> index of the first packet left
// for TypeScript (n when none); out[0] (Float64Array) receives the `found` lookups to add to the stats.
Napi::Value Nf4Prerouting(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolHandle* pool; NodeHandle* unused; Call c;
  if (info.Length() < 9 || !info[1].IsExternal()) { fail(env, "nf4Prerouting(pool, ct, slots, n, drops, handBack, now, out, from)"); return env.Undefined(); }
  CtHandle* ct = info[1].As<Napi::External<CtHandle>>().Data();
  if (!callArgs(info, &pool, &unused, &c)) return env.Undefined();
  double* out = nullptr;
  size_t len = 0;
  if (!typed(env, info[7], napi_float64_array, &out, &len, nullptr, "out must be a Float64Array") || len < 1) return env.Undefined();
  CtCall cc{info[6].ToNumber().DoubleValue(), 0, 0};
  const int32_t from = info[8].ToNumber().Int32Value();
  if (from < 0 || from > c.n) { fail(env, "from out of the vector"); return env.Undefined(); }
  const int32_t stop = nf4PreroutingEstablished(pool->view, ct->view, c, &cc, from);
  out[0] = cc.found;
  if (len > 1) out[1] = cc.runEnd;
  return Napi::Number::New(env, stop);
}

Napi::Value Nf4Postrouting(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolHandle* pool; NodeHandle* unused; Call c;
  if (info.Length() < 9 || !info[1].IsExternal()) { fail(env, "nf4Postrouting(pool, ct, slots, n, drops, handBack, from, inputHook, out)"); return env.Undefined(); }
  CtHandle* ct = info[1].As<Napi::External<CtHandle>>().Data();
  if (!callArgs(info, &pool, &unused, &c)) return env.Undefined();
  const int32_t from = info[6].ToNumber().Int32Value();
  if (from < 0 || from > c.n) { fail(env, "from out of the vector"); return env.Undefined(); }
  double* out = nullptr;
  size_t len = 0;
  if (!typed(env, info[8], napi_float64_array, &out, &len, nullptr, "out must be a Float64Array") || len < 2) return env.Undefined();
  int32_t runEnd = c.n;
  const int32_t stop = nf4PostroutingEstablished(pool->view, ct->view, c, from, info[7].ToBoolean().Value(), &runEnd);
  out[1] = runEnd;
  return Napi::Number::New(env, stop);
}

Napi::Value Nf4Forward(const Napi::CallbackInfo& info) {
  PoolHandle* pool; NodeHandle* unused; Call c;
  if (!callArgs(info, &pool, &unused, &c)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), nf4ForwardEstablished(pool->view, c));
}

struct FilterHandle {
  FilterView view;
  std::vector<Napi::ObjectReference> keep;
};

// attachFilter({ words: Uint32Array, local: Uint32Array, present, input, output, forward }): a node's
// filter table as compiled by src/native/filter-program.ts (layout in nffilter.h).
Napi::Value AttachFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachFilter(program)"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<FilterHandle>();
  FilterView& v = h->view;
  uint32_t* words = nullptr;
  uint32_t* local = nullptr;
  size_t wl = 0, ll = 0;
  if (!typed(env, o.Get("words"), napi_uint32_array, &words, &wl, &h->keep, "words must be a Uint32Array")) return env.Undefined();
  if (!typed(env, o.Get("local"), napi_uint32_array, &local, &ll, &h->keep, "local must be a Uint32Array")) return env.Undefined();
  v.words = words;
  v.len = int32_t(wl);
  v.local = local;
  v.localCount = int32_t(ll);
  v.present = o.Get("present").ToBoolean().Value();
  v.input = o.Get("input").ToNumber().Int32Value();
  v.output = o.Get("output").ToNumber().Int32Value();
  v.forward = o.Get("forward").ToNumber().Int32Value();
  // The walker trusts the program's offsets: check every chain and rule record lies inside it.
  bool ok = wl >= 1 && 1 + 3 * uint64_t(words[0]) <= wl;
  for (uint32_t c = 0; ok && c < words[0]; c++) {
    const uint32_t* ch = words + 1 + 3 * c;
    uint64_t r = ch[0];
    if (ch[1] > wl || r > ch[1]) { ok = false; break; }
    while (r < ch[1]) {
      if (r + nff::kRuleWords > ch[1]) { ok = false; break; }
      r += nff::kRuleWords + uint64_t(words[r + 9]) * nff::kMatchWords;
    }
    if (r != ch[1]) ok = false;
  }
  if (!ok) { fail(env, "filter program: malformed chain or rule records"); return env.Undefined(); }
  return Napi::External<FilterHandle>::New(env, h.release(), [](Napi::Env, FilterHandle* x) { delete x; });
}

// filterWalk(filter, chain, pkt: Uint32Array [src, dst, proto, sport, dport, mark, ctstate]) -> the
// mark after an ACCEPT walk, or -1 when the TS stage must walk (tests hold it to walk.ts).
Napi::Value FilterWalk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsExternal()) { fail(env, "filterWalk(filter, chain, pkt)"); return env.Undefined(); }
  FilterHandle* f = info[0].As<Napi::External<FilterHandle>>().Data();
  uint32_t* w = nullptr;
  size_t len = 0;
  if (!typed(env, info[2], napi_uint32_array, &w, &len, nullptr, "pkt must be a Uint32Array") || len < 7) return env.Undefined();
  const FilterPacket pk{w[0], w[1], filterProto(w[2]), w[3], w[4], w[5], w[6]};
  uint32_t mark = 0;
  if (!f->view.present) return Napi::Number::New(env, pk.mark);
  if (!filterAccepts(f->view, info[1].ToNumber().Int32Value(), pk, &mark)) return Napi::Number::New(env, -1);
  return Napi::Number::New(env, double(mark));
}

// nf4Output(pool, ct, filter, slots, n, drops, handBack, now, out, from) -> index of the first packet
// left for TypeScript (n when none); out[0] found lookups, out[1] end of the run that needs TS.
Napi::Value Nf4Output(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 10 || !info[1].IsExternal() || !info[2].IsExternal()) { fail(env, "nf4Output(pool, ct, filter, slots, n, drops, handBack, now, out, from)"); return env.Undefined(); }
  CtHandle* ct = info[1].As<Napi::External<CtHandle>>().Data();
  FilterHandle* f = info[2].As<Napi::External<FilterHandle>>().Data();
  PoolHandle* pool = info[0].IsExternal() ? info[0].As<Napi::External<PoolHandle>>().Data() : nullptr;
  if (pool == nullptr) { fail(env, "pool handle required"); return env.Undefined(); }
  Call c;
  if (!vectorArgs(info, 3, pool, &c)) return env.Undefined();
  double* out = nullptr;
  size_t len = 0;
  if (!typed(env, info[8], napi_float64_array, &out, &len, nullptr, "out must be a Float64Array") || len < 2) return env.Undefined();
  CtCall cc{info[7].ToNumber().DoubleValue(), 0, 0};
  const int32_t from = info[9].ToNumber().Int32Value();
  if (from < 0 || from > c.n) { fail(env, "from out of the vector"); return env.Undefined(); }
  const int32_t stop = nf4OutputTracked(pool->view, ct->view, f->view, c, &cc, from);
  out[0] = cc.found;
  out[1] = cc.runEnd;
  return Napi::Number::New(env, stop);
}

// nf4Input(pool, ct, filter, slots, n, drops, handBack, from, out) -> stop index; out[1] end of the TS run.
Napi::Value Nf4Input(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 9 || !info[0].IsExternal() || !info[1].IsExternal() || !info[2].IsExternal()) { fail(env, "nf4Input(pool, ct, filter, slots, n, drops, handBack, from, out)"); return env.Undefined(); }
  PoolHandle* pool = info[0].As<Napi::External<PoolHandle>>().Data();
  CtHandle* ct = info[1].As<Napi::External<CtHandle>>().Data();
  FilterHandle* f = info[2].As<Napi::External<FilterHandle>>().Data();
  Call c;
  if (!vectorArgs(info, 3, pool, &c)) return env.Undefined();
  const int32_t from = info[7].ToNumber().Int32Value();
  if (from < 0 || from > c.n) { fail(env, "from out of the vector"); return env.Undefined(); }
  double* out = nullptr;
  size_t len = 0;
  if (!typed(env, info[8], napi_float64_array, &out, &len, nullptr, "out must be a Float64Array") || len < 2) return env.Undefined();
  int32_t runEnd = c.n;
  const int32_t stop = nf4InputTracked(pool->view, ct->view, f->view, c, from, &runEnd);
  out[1] = runEnd;
  return Napi::Number::New(env, stop);
}

// { structs: { name: { size, align, offsets: { field: offset } } }, dropReasons: { code: name } }
Napi::Value Layouts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object structs = Napi::Object::New(env);
#define S(T) { Napi::Object s = Napi::Object::New(env); s.Set("size", double(sizeof(T))); s.Set("align", double(alignof(T))); s.Set("offsets", Napi::Object::New(env)); structs.Set(#T, s); }
  DPEMU_STRUCTS(S)
#undef S
#define X(T, F) structs.Get(#T).As<Napi::Object>().Get("offsets").As<Napi::Object>().Set(#F, double(offsetof(T, F)));
  DPEMU_FIELDS(X)
#undef X
  Napi::Object drops = Napi::Object::New(env);
#define X(code, name) drops.Set(uint32_t(code), #name);
  DPEMU_DROP_REASONS(X)
#undef X
  Napi::Object out = Napi::Object::New(env);
  out.Set("structs", structs);
  out.Set("dropReasons", drops);
  out.Set("maxDropCode", double(kMaxDropCode));
#if defined(__SANITIZE_ADDRESS__)
  out.Set("sanitizers", "address,undefined");
#else
  out.Set("sanitizers", "none");
#endif
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  exports.Set("attachPool", Napi::Function::New(env, AttachPool));
  exports.Set("attachNode", Napi::Function::New(env, AttachNode));
  exports.Set("ethernetInput", Napi::Function::New(env, EthernetInput));
  exports.Set("ip4Input", Napi::Function::New(env, Ip4Input));
  exports.Set("ip4Forward", Napi::Function::New(env, Ip4Forward));
  exports.Set("vxlan4Encap", Napi::Function::New(env, Vxlan4Encap));
  exports.Set("vxlan4Decap", Napi::Function::New(env, Vxlan4Decap));
  exports.Set("attachConntrack", Napi::Function::New(env, AttachConntrack));
  exports.Set("nf4Prerouting", Napi::Function::New(env, Nf4Prerouting));
  exports.Set("nf4Postrouting", Napi::Function::New(env, Nf4Postrouting));
  exports.Set("nf4Forward", Napi::Function::New(env, Nf4Forward));
  exports.Set("attachFilter", Napi::Function::New(env, AttachFilter));
  exports.Set("filterWalk", Napi::Function::New(env, FilterWalk));
  exports.Set("nf4Output", Napi::Function::New(env, Nf4Output));
  exports.Set("nf4Input", Napi::Function::New(env, Nf4Input));
  exports.Set("layouts", Napi::Function::New(env, Layouts));
  return exports;
}

}  // namespace
}  // namespace dpemu

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return dpemu::Init(env, exports); }
NODE_API_MODULE(dpemu_native, InitModule)
