// N-API entry points (node-addon-api, C++ exceptions disabled: errors are thrown as JS errors and
// the function returns). Setup calls wrap the pool and node tables once; the per-vector calls take
// the vector's slots and count plus the stage's drop counters and a hand-back mark array.
#include <napi.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "drop_reasons.h"
#include "layouts.h"
#include "conntrack.h"
#include "ip4.h"
#include "edge.h"
#include "stages.h"
#include "dispatch.h"
#include "bpfmap.h"

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

struct BpfCtHandle {
  BpfCtView view;
  std::vector<Napi::ObjectReference> keep;
};

struct IpvsHandle {
  IpvsView view;
  std::vector<Napi::ObjectReference> keep;
};

struct BpfSockHandle {
  BpfSockView view;
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
  arr("lastWscale", napi_uint8_array, &v.lastWscale, v.max);
  arr("tcpFlags", napi_uint8_array, &v.tcpFlags, nodes);
  arr("tdScale", napi_uint8_array, &v.tdScale, nodes);
  arr("zone", napi_uint16_array, &v.zone, v.max);
  arr("lastWin", napi_uint16_array, &v.lastWin, v.max);
  arr("status", napi_uint32_array, &v.status, v.max);
  arr("tdEnd", napi_uint32_array, &v.tdEnd, nodes);
  arr("tdMaxEnd", napi_uint32_array, &v.tdMaxEnd, nodes);
  arr("tdMaxWin", napi_uint32_array, &v.tdMaxWin, nodes);
  arr("tdMaxAck", napi_uint32_array, &v.tdMaxAck, nodes);
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
  int32_t* count = nullptr;
  arr("count", napi_int32_array, &count, 1);
  if (!ok) return env.Undefined();
  v.count = count;
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

// The ordered forms' (from, out) arguments: where the walk starts in the vector, and the
// Float64Array(3) it reports through (orderedResult). False, a TypeError thrown, when either is wrong.
bool orderedArgs(const Napi::CallbackInfo& info, const Call& c, size_t fromAt, size_t outAt, int32_t* from, double** out) {
  Napi::Env env = info.Env();
  *from = info[fromAt].ToNumber().Int32Value();
  if (*from < 0 || *from > c.n) return fail(env, "from out of the vector");
  size_t len = 0;
  if (!typed(env, info[outAt], napi_float64_array, out, &len, nullptr, "out must be a Float64Array")) return false;
  return len >= 3 || fail(env, "out must hold 3 numbers");
}

// An ordered call's outcome: out[0] the conntrack lookups found (for ConntrackStats), out[1] the end
// of the run TypeScript takes from the stop, out[2] the packets deferred before it (walkDeferring);
// returns the stop index.
Napi::Value orderedResult(Napi::Env env, double* out, const CtCall& cc, int32_t stop) {
  out[0] = cc.found;
  out[1] = cc.runEnd;
  out[2] = cc.deferred;
  return Napi::Number::New(env, stop);
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
  int32_t from = 0;
  double* out = nullptr;
  if (!callArgs(info, &pool, &unused, &c) || !orderedArgs(info, c, 8, 7, &from, &out)) return env.Undefined();
  CtCall cc{info[6].ToNumber().DoubleValue(), 0, 0, 0};
  return orderedResult(env, out, cc, nf4PreroutingEstablished(pool->view, ct->view, c, &cc, from));
}

Napi::Value Nf4Postrouting(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolHandle* pool; NodeHandle* unused; Call c;
  if (info.Length() < 9 || !info[1].IsExternal()) { fail(env, "nf4Postrouting(pool, ct, slots, n, drops, handBack, from, out, now)"); return env.Undefined(); }
  CtHandle* ct = info[1].As<Napi::External<CtHandle>>().Data();
  int32_t from = 0;
  double* out = nullptr;
  if (!callArgs(info, &pool, &unused, &c) || !orderedArgs(info, c, 6, 7, &from, &out)) return env.Undefined();
  CtCall cc{info[8].ToNumber().DoubleValue(), 0, 0, 0};
  return orderedResult(env, out, cc, nf4PostroutingEstablished(pool->view, ct->view, c, &cc, from));
}

Napi::Value Nf4Forward(const Napi::CallbackInfo& info);

struct EngineHandle {
  EngineView view;
  std::vector<Napi::ObjectReference> keep;
};

// attachEngine(arrays, pool, nodes: External[], cts: External[]): the dispatcher's typed arrays (engine-runner.ts).
Napi::Value AttachEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsObject() || !info[1].IsExternal() || !info[2].IsArray() || !info[3].IsArray()) {
    fail(env, "attachEngine(arrays, pool, nodes[], conntrack[])");
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<EngineHandle>();
  EngineView& v = h->view;
  auto& k = h->keep;
  PoolHandle* pool = info[1].As<Napi::External<PoolHandle>>().Data();
  v.pool = &pool->view;
  k.push_back(Napi::Persistent(info[1].As<Napi::Object>()));
  v.stages = o.Get("stages").ToNumber().Int32Value();
  v.nodes = o.Get("nodes").ToNumber().Int32Value();
  v.vectorSize = o.Get("vectorSize").ToNumber().Int32Value();
  v.counterWords = o.Get("counterWords").ToNumber().Int32Value();
  const int64_t q = int64_t(v.stages) * v.nodes;
  const int64_t size = v.pool->size;
  bool ok = v.stages > 0 && v.nodes > 0 && v.vectorSize > 0 && v.vectorSize <= size && v.counterWords > kCounterHead;
  if (!ok) fail(env, "attachEngine: bad sizes");
  size_t m = 0;
  auto arr = [&](const char* name, napi_typedarray_type t, auto** ptr, int64_t need) {
    if (!ok) return;
    ok = typed(env, o.Get(name), t, ptr, &m, &k, name) && (int64_t(m) >= need || fail(env, name));
  };
  int32_t* nextIds = nullptr;
  uint8_t* kind = nullptr;
  uint8_t* settings = nullptr;
  arr("queues", napi_int32_array, &v.queues, q * size);
  arr("heads", napi_int32_array, &v.heads, q);
  arr("tails", napi_int32_array, &v.tails, q);
  arr("pending", napi_int32_array, &v.pending, 1);
  arr("vector", napi_int32_array, &v.vector, v.vectorSize);
  arr("nextIds", napi_int32_array, &nextIds, int64_t(v.stages) * kMaxNext);
  arr("counters", napi_float64_array, &v.counters, q * v.counterWords);
  arr("kind", napi_uint8_array, &kind, q);
  arr("hand", napi_uint8_array, &v.hand, v.vectorSize);
  arr("freeList", napi_int32_array, &v.freeList, size);
  arr("freeTop", napi_int32_array, &v.freeTop, 1);
  arr("deferred", napi_int32_array, &v.deferred, 2 * size);
  arr("deferredCount", napi_int32_array, &v.deferredCount, 1);
  arr("settings", napi_uint8_array, &settings, 2);
  arr("call", napi_int32_array, &v.call, 7);
  arr("found", napi_float64_array, &v.found, v.nodes);
  arr("ipId", napi_int32_array, &v.ipId, v.nodes);
  if (!ok) return env.Undefined();
  v.nextIds = nextIds;
  v.kind = kind;
  v.settings = settings;
  Napi::Array nodes = info[2].As<Napi::Array>();
  Napi::Array cts = info[3].As<Napi::Array>();
  if (int32_t(nodes.Length()) != v.nodes || int32_t(cts.Length()) != v.nodes) { fail(env, "attachEngine: one node and one conntrack handle per node"); return env.Undefined(); }
  for (int32_t i = 0; i < v.nodes; i++) {
    Napi::Value nv = nodes.Get(uint32_t(i));
    Napi::Value cv = cts.Get(uint32_t(i));
    if (!nv.IsExternal() || !cv.IsExternal()) { fail(env, "attachEngine: node/conntrack handles must be externals"); return env.Undefined(); }
    v.nodeViews.push_back(&nv.As<Napi::External<NodeHandle>>().Data()->view);
    v.cts.push_back(&cv.As<Napi::External<CtHandle>>().Data()->view);
    k.push_back(Napi::Persistent(nv.As<Napi::Object>()));
    k.push_back(Napi::Persistent(cv.As<Napi::Object>()));
  }
  for (int64_t i = 0; i < q; i++) if (kind[i] >= kStageKinds) { fail(env, "attachEngine: unknown stage kind"); return env.Undefined(); }
  return Napi::External<EngineHandle>::New(env, h.release(), [](Napi::Env, EngineHandle* x) { delete x; });
}

// engineRun(engine) -> 0 idle, 1 the next call is JavaScript's, 2 a call handed packets back (arrays.call)
Napi::Value EngineRun(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) { fail(info.Env(), "engineRun(engine)"); return info.Env().Undefined(); }
  return Napi::Number::New(info.Env(), engineRun(info[0].As<Napi::External<EngineHandle>>().Data()->view));
}

// engineInject(engine, buf: Uint8Array, offset: Int32Array, caplen: Int32Array, wireLen: Int32Array, tsSec: Float64Array,
//   tsNsec: Uint32Array, from, count, frameNo, device, node, stage, headroom) -> frames queued (from `from`)
Napi::Value EngineInject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 14 || !info[0].IsExternal()) { fail(env, "engineInject(engine, buf, offset, caplen, wireLen, tsSec, tsNsec, from, count, frameNo, device, node, stage, headroom)"); return env.Undefined(); }
  EngineView& e = info[0].As<Napi::External<EngineHandle>>().Data()->view;
  uint8_t* buf = nullptr;
  int32_t *offset = nullptr, *caplen = nullptr, *wireLen = nullptr;
  double* tsSec = nullptr;
  uint32_t* tsNsec = nullptr;
  size_t bufLen = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0;
  if (!typed(env, info[1], napi_uint8_array, &buf, &bufLen, nullptr, "buf must be a Uint8Array") ||
      !typed(env, info[2], napi_int32_array, &offset, &l1, nullptr, "offset must be an Int32Array") ||
      !typed(env, info[3], napi_int32_array, &caplen, &l2, nullptr, "caplen must be an Int32Array") ||
      !typed(env, info[4], napi_int32_array, &wireLen, &l3, nullptr, "wireLen must be an Int32Array") ||
      !typed(env, info[5], napi_float64_array, &tsSec, &l4, nullptr, "tsSec must be a Float64Array") ||
      !typed(env, info[6], napi_uint32_array, &tsNsec, &l5, nullptr, "tsNsec must be a Uint32Array")) return env.Undefined();
  const int64_t from = info[7].ToNumber().Int64Value();
  const int64_t count = info[8].ToNumber().Int64Value();
  const size_t minLen = std::min(std::min(l1, l2), std::min(std::min(l3, l4), l5));
  if (from < 0 || count < 0 || size_t(from + count) > minLen) { fail(env, "engineInject: from/count out of the arrays"); return env.Undefined(); }
  for (int64_t i = from; i < from + count; i++) {
    if (offset[i] < 0 || caplen[i] < 0 || uint64_t(offset[i]) + uint64_t(caplen[i]) > bufLen) { fail(env, "engineInject: a frame lies outside buf"); return env.Undefined(); }
  }
  InjectBatch b{buf, offset + from, caplen + from, wireLen + from, tsSec + from, tsNsec + from, int32_t(count),
                info[9].ToNumber().Int32Value(), info[10].ToNumber().Int32Value(), info[11].ToNumber().Int32Value(),
                info[12].ToNumber().Int32Value(), info[13].ToNumber().Int32Value()};
  if (b.node < 0 || b.node >= e.nodes || b.stage < 0 || b.stage >= e.stages || b.headroom < 0) { fail(env, "engineInject: node/stage/headroom out of range"); return env.Undefined(); }
  return Napi::Number::New(env, engineInject(e, b));
}

// IPv4 routing stages (ip4.h): attachIp4({ routes: Uint8Array of native_route_v1, neighbours: Uint8Array of
// native_neighbour_v1, deviceKinds: Uint8Array, vxlan, tunnelPort, ebpf, ipvs, nodeIp, snatIp }); the addon
// keeps its own sorted copy, so the arrays need not live on.
struct Ip4Handle {
  Ip4Tables tables;
};

Napi::Value AttachIp4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachIp4(node tables)"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  uint8_t* routes = nullptr;
  uint8_t* neigh = nullptr;
  uint8_t* kinds = nullptr;
  size_t routesLen = 0, neighLen = 0, kindsLen = 0;
  if (!typed(env, o.Get("routes"), napi_uint8_array, &routes, &routesLen, nullptr, "routes must be a Uint8Array")) return env.Undefined();
  if (!typed(env, o.Get("neighbours"), napi_uint8_array, &neigh, &neighLen, nullptr, "neighbours must be a Uint8Array")) return env.Undefined();
  if (!typed(env, o.Get("deviceKinds"), napi_uint8_array, &kinds, &kindsLen, nullptr, "deviceKinds must be a Uint8Array")) return env.Undefined();
  if (routesLen % sizeof(native_route_v1) != 0 || neighLen % sizeof(native_neighbour_v1) != 0 ||
      reinterpret_cast<uintptr_t>(routes) % alignof(native_route_v1) != 0 || reinterpret_cast<uintptr_t>(neigh) % alignof(native_neighbour_v1) != 0) {
    fail(env, "route/neighbour tables: wrong size or alignment");
    return env.Undefined();
  }
  auto h = std::make_unique<Ip4Handle>();
  buildIp4Tables(reinterpret_cast<const native_route_v1*>(routes), int32_t(routesLen / sizeof(native_route_v1)),
                 reinterpret_cast<const native_neighbour_v1*>(neigh), int32_t(neighLen / sizeof(native_neighbour_v1)),
                 kinds, int32_t(kindsLen), &h->tables);
  Ip4NodeView& v = h->tables.view;
  v.vxlan = o.Get("vxlan").ToBoolean().Value();
  v.tunnelPort = o.Get("tunnelPort").ToNumber().Uint32Value();
  v.ebpf = o.Get("ebpf").ToBoolean().Value();
  v.ipvs = o.Get("ipvs").ToBoolean().Value();
  v.nodeIp = o.Get("nodeIp").ToNumber().Uint32Value();
  v.snatIp = o.Get("snatIp").ToNumber().Uint32Value();
  for (size_t i = 0; i < h->tables.routes.size(); i++) {
    if (h->tables.routes[i].dev < 0 || h->tables.routes[i].dev >= v.deviceCount) { fail(env, "route device out of the device table"); return env.Undefined(); }
  }
  return Napi::External<Ip4Handle>::New(env, h.release(), [](Napi::Env, Ip4Handle* x) { delete x; });
}

// (pool, node|null, slots, n, drops, handBack, ip4) for the ip4.h stages; ip4Defrag takes
// (pool, null, slots, n, drops, handBack, expiryDone).
bool ip4Arg(const Napi::CallbackInfo& info, Ip4Handle** ip4) {
  if (info.Length() < 7 || !info[6].IsExternal()) return fail(info.Env(), "ip4 handle required (argument 7)");
  *ip4 = info[6].As<Napi::External<Ip4Handle>>().Data();
  return true;
}

#define IP4_STAGE(Name, fn)                                                                \
  Napi::Value Name(const Napi::CallbackInfo& info) {                                       \
    PoolHandle* pool; NodeHandle* node; Call c; Ip4Handle* ip4;                            \
    if (!callArgs(info, &pool, &node, &c) || !ip4Arg(info, &ip4)) return info.Env().Undefined(); \
    return Napi::Number::New(info.Env(), fn(pool->view, ip4->tables.view, c));             \
  }

IP4_STAGE(Ip4Lookup, ip4Lookup)
IP4_STAGE(Ip4Local, ip4Local)
IP4_STAGE(Nodeport4, nodeport4)

// attachIpvs(Ipvs.nativeView()): a node's IPVS connection table and virtual-server hash.
Napi::Value AttachIpvs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachIpvs(view)"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<IpvsHandle>();
  IpvsView& v = h->view;
  auto& k = h->keep;
  size_t cap = 0, m = 0;
  bool ok = typed(env, o.Get("proto"), napi_uint8_array, &v.proto, &cap, &k, "proto");
  auto arr = [&](const char* name, napi_typedarray_type t, auto** ptr, size_t need) {
    if (!ok) return;
    ok = typed(env, o.Get(name), t, ptr, &m, &k, name) && (m >= need || fail(env, name));
  };
  arr("caddr", napi_uint32_array, &v.caddr, cap); arr("cport", napi_uint16_array, &v.cport, cap);
  arr("vaddr", napi_uint32_array, &v.vaddr, cap); arr("vport", napi_uint16_array, &v.vport, cap);
  arr("daddr", napi_uint32_array, &v.daddr, cap); arr("dport", napi_uint16_array, &v.dport, cap);
  arr("state", napi_uint8_array, &v.state, cap); arr("flags", napi_uint8_array, &v.flags, cap);
  arr("expires", napi_float64_array, &v.expires, cap); arr("timeout", napi_float64_array, &v.timeout, cap);
  arr("svc", napi_int32_array, &v.svc, cap); arr("dest", napi_int32_array, &v.dest, cap);
  arr("nControl", napi_int32_array, &v.nControl, cap); arr("next", napi_int32_array, &v.next, cap);
  arr("used", napi_uint8_array, &v.used, cap); arr("cursors", napi_int32_array, &v.cursors, 2);
  size_t heads = 0, svcs = 0, dc = 0;
  if (ok) ok = typed(env, o.Get("heads"), napi_int32_array, &v.heads, &heads, &k, "heads") && heads > 0 && (heads & (heads - 1)) == 0;
  uint32_t* a = nullptr; uint32_t* bk = nullptr; int32_t* val = nullptr; int32_t* counts = nullptr;
  if (ok) ok = typed(env, o.Get("svcKeyA"), napi_uint32_array, &a, &svcs, &k, "svcKeyA") && svcs > 0 && (svcs & (svcs - 1)) == 0;
  arr("svcKeyB", napi_uint32_array, &bk, svcs);
  arr("svcVal", napi_int32_array, &val, svcs);
  if (ok) ok = typed(env, o.Get("destCount"), napi_int32_array, &counts, &dc, &k, "destCount");
  uint8_t* states = nullptr; double* timeouts = nullptr; size_t ns = 0, nt = 0;
  if (ok) ok = typed(env, o.Get("tcpStates"), napi_uint8_array, &states, &ns, nullptr, "tcpStates") && ns >= sizeof v.tcpStates;
  if (ok) ok = typed(env, o.Get("tcpTimeouts"), napi_float64_array, &timeouts, &nt, nullptr, "tcpTimeouts") && nt >= 12;
  if (!ok) { if (!env.IsExceptionPending()) fail(env, "attachIpvs: malformed view"); return env.Undefined(); }
  for (size_t i = 0; i < sizeof v.tcpStates; i++) ok = ok && states[i] < 12;
  if (!ok) { fail(env, "attachIpvs: tcpStates out of range"); return env.Undefined(); }
  std::memcpy(v.tcpStates, states, sizeof v.tcpStates);
  std::memcpy(v.tcpTimeouts, timeouts, sizeof v.tcpTimeouts);
  v.capacity = int32_t(cap);
  v.mask = uint32_t(heads - 1);
  v.svcKeyA = a; v.svcKeyB = bk; v.svcVal = val; v.svcMask = uint32_t(svcs - 1);
  v.destCount = counts; v.svcCount = int32_t(dc);
  v.sweep = o.Get("sweep").ToNumber().Int32Value();
  v.udp = o.Get("udp").ToNumber().DoubleValue();
  return Napi::External<IpvsHandle>::New(env, h.release(), [](Napi::Env, IpvsHandle* x) { delete x; });
}

// ipvs4In(pool, null, slots, n, drops, handBack, ip4, from, out, ipvs, now) -> index of the first packet left
// for TypeScript (n when none); out (orderedResult): [1] the end of the run that needs it; ipvs: the node's
// attachIpvs handle or null; now: the call's time.
Napi::Value Ipvs4In(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolHandle* pool; NodeHandle* node; Call c; Ip4Handle* ip4;
  if (!callArgs(info, &pool, &node, &c) || !ip4Arg(info, &ip4)) return env.Undefined();
  if (info.Length() < 11) { fail(env, "ipvs4In(pool, null, slots, n, drops, handBack, ip4, from, out, ipvs, now)"); return env.Undefined(); }
  int32_t from = 0;
  double* out = nullptr;
  if (!orderedArgs(info, c, 7, 8, &from, &out)) return env.Undefined();
  IpvsView* v = info[9].IsExternal() ? &info[9].As<Napi::External<IpvsHandle>>().Data()->view : nullptr;
  const double now = info[10].ToNumber().DoubleValue();
  CtCall cc{now, 0, c.n, 0};
  return orderedResult(env, out, cc, ipvs4In(pool->view, ip4->tables.view, v, c, now, from, &cc.runEnd));
}

// engineIpvs(engine, ipvs: (External | null)[]): per node, its attachIpvs handle or null.
Napi::Value EngineIpvs(const Napi::CallbackInfo& info);

// sock4Connect(pool, null, slots, n, drops, handBack, ip4, from, out, sock) -> index of the first packet left
// for TypeScript (n when none); out (orderedResult): [1] the end of the run that needs it; sock: the node's
// attachBpfSock handle (kube-proxy ebpf mode) or null.
Napi::Value Sock4Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolHandle* pool; NodeHandle* node; Call c; Ip4Handle* ip4;
  if (!callArgs(info, &pool, &node, &c) || !ip4Arg(info, &ip4)) return env.Undefined();
  if (info.Length() < 10) { fail(env, "sock4Connect(pool, null, slots, n, drops, handBack, ip4, from, out, sock)"); return env.Undefined(); }
  int32_t from = 0;
  double* out = nullptr;
  if (!orderedArgs(info, c, 7, 8, &from, &out)) return env.Undefined();
  BpfSockView* sock = info[9].IsExternal() ? &info[9].As<Napi::External<BpfSockHandle>>().Data()->view : nullptr;
  CtCall cc{0, 0, c.n, 0};
  return orderedResult(env, out, cc, sock4Connect(pool->view, ip4->tables.view, sock, c, from, &cc.runEnd));
}

Napi::Value Ip4Output(const Napi::CallbackInfo& info) {
  PoolHandle* pool; NodeHandle* node; Call c; Ip4Handle* ip4;
  if (!callArgs(info, &pool, &node, &c) || !ip4Arg(info, &ip4)) return info.Env().Undefined();
  if (node == nullptr) { fail(info.Env(), "node handle required"); return info.Env().Undefined(); }
  return Napi::Number::New(info.Env(), ip4Output(pool->view, node->view, ip4->tables.view, c));
}

Napi::Value Ip4Defrag(const Napi::CallbackInfo& info) {
  PoolHandle* pool; NodeHandle* node; Call c;
  if (!callArgs(info, &pool, &node, &c)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ip4Defrag(pool->view, c, info.Length() > 6 && info[6].ToBoolean().Value()));
}


// ---- edge stages (native/src/edge.h): frame-input, veth-xmit, underlay-xmit, policy4-* ----

struct DevHandle {
  DeviceView view;
  std::vector<Napi::ObjectReference> keep;
};

// attachDevices({ info: Int32Array (kDeviceStride per device), nicOf: Int32Array, vxlanPort })
Napi::Value AttachDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachDevices(device table)"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<DevHandle>();
  DeviceView& v = h->view;
  int32_t* di = nullptr;
  int32_t* nics = nullptr;
  size_t diLen = 0, nicLen = 0;
  if (!typed(env, o.Get("info"), napi_int32_array, &di, &diLen, &h->keep, "info must be an Int32Array")) return env.Undefined();
  if (!typed(env, o.Get("nicOf"), napi_int32_array, &nics, &nicLen, &h->keep, "nicOf must be an Int32Array")) return env.Undefined();
  if (diLen % kDeviceStride != 0) { fail(env, "info: not a whole number of devices"); return env.Undefined(); }
  v.info = di;
  v.count = int32_t(diLen / kDeviceStride);
  v.nicOf = nics;
  v.nodeCount = int32_t(nicLen);
  v.vxlanPort = o.Get("vxlanPort").ToNumber().Uint32Value();
  for (int32_t d = 0; d < v.count; d++) {
    const int32_t peer = v.peer(d);
    if (peer < -1 || peer >= v.count || v.node(d) < 0 || v.node(d) >= v.nodeCount) { fail(env, "device table: peer or node out of range"); return env.Undefined(); }
  }
  return Napi::External<DevHandle>::New(env, h.release(), [](Napi::Env, DevHandle* x) { delete x; });
}

bool devArgs(const Napi::CallbackInfo& info, size_t need, const char* usage, PoolHandle** pool, DevHandle** dev, Call* c) {
  if (info.Length() < need || !info[1].IsExternal()) return fail(info.Env(), usage);
  NodeHandle* unused;
  if (!callArgs(info, pool, &unused, c)) return false;
  *dev = info[1].As<Napi::External<DevHandle>>().Data();
  return true;
}

// frameInput(pool, devices, slots, n, drops, handBack) -> packets left
Napi::Value FrameInput(const Napi::CallbackInfo& info) {
  PoolHandle* pool = nullptr; DevHandle* dev = nullptr; Call c{};
  if (!devArgs(info, 6, "frameInput(pool, devices, slots, n, drops, handBack)", &pool, &dev, &c)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), frameInput(pool->view, dev->view, c));
}

// vethXmit(pool, devices, slots, n, drops, handBack) -> packets left
Napi::Value VethXmit(const Napi::CallbackInfo& info) {
  PoolHandle* pool = nullptr; DevHandle* dev = nullptr; Call c{};
  if (!devArgs(info, 6, "vethXmit(pool, devices, slots, n, drops, handBack)", &pool, &dev, &c)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), vethXmit(pool->view, dev->view, c));
}

// underlayXmit(pool, devices, slots, n, drops, handBack, nic) -> packets left
Napi::Value UnderlayXmit(const Napi::CallbackInfo& info) {
  PoolHandle* pool = nullptr; DevHandle* dev = nullptr; Call c{};
  if (!devArgs(info, 7, "underlayXmit(pool, devices, slots, n, drops, handBack, nic)", &pool, &dev, &c)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), underlayXmit(pool->view, dev->view, c, info[6].ToNumber().Int32Value()));
}

// policy4(pool, devices, slots, n, drops, handBack, from, egress, policyOn, out, open, ebpfCt, now) -> index
// of the stop (n when none); out (orderedResult): [1] the end of the run that needs TypeScript, [2] the
// packets deferred before the stop; open (Uint8Array per device): bit 0 / bit 1 = no policy selects the endpoint in egress /
// ingress; ebpfCt: the node's attachBpfCt handle in kube-proxy ebpf mode, else null; now: the call's time.
Napi::Value Policy4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PoolHandle* pool = nullptr; DevHandle* dev = nullptr; Call c{};
  if (!devArgs(info, 13, "policy4(pool, devices, slots, n, drops, handBack, from, egress, policyOn, out, open, ebpfCt, now)", &pool, &dev, &c)) return env.Undefined();
  BpfCtView* ebpf = info[11].IsExternal() ? &info[11].As<Napi::External<BpfCtHandle>>().Data()->view : nullptr;
  uint8_t* open = nullptr;
  size_t openLen = 0;
  if (!typed(env, info[10], napi_uint8_array, &open, &openLen, nullptr, "open must be a Uint8Array")) return env.Undefined();
  int32_t from = 0;
  double* out = nullptr;
  if (!orderedArgs(info, c, 6, 9, &from, &out)) return env.Undefined();
  const double now = info[12].ToNumber().DoubleValue();
  CtCall cc{now, 0, c.n, 0};
  const int32_t stop = policy4Established(pool->view, dev->view, c, from, info[7].ToBoolean().Value(), info[8].ToBoolean().Value(), open, int32_t(openLen), ebpf,
                                          now, &cc.runEnd, &cc.deferred);
  return orderedResult(env, out, cc, stop);
}

// attachBpfCt({ tcp: Uint8Array, any: Uint8Array, lifeTcp, lifeTcpSyn, lifeTcpFin, lifeAny }): a node's
// ct4_global and ct_any4 map buffers and Cilium's lifetimes (seconds), for policy4's records.
Napi::Value AttachBpfCt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachBpfCt({ tcp, any, lifeTcp, lifeTcpSyn, lifeTcpFin, lifeAny })"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<BpfCtHandle>();
  uint8_t* b = nullptr;
  size_t len = 0;
  if (!typed(env, o.Get("tcp"), napi_uint8_array, &b, &len, &h->keep, "tcp must be a Uint8Array")) return env.Undefined();
  bool ok = h->view.tcp.attach(b, len);
  if (ok && !typed(env, o.Get("any"), napi_uint8_array, &b, &len, &h->keep, "any must be a Uint8Array")) return env.Undefined();
  ok = ok && h->view.any.attach(b, len);
  ok = ok && h->view.tcp.keySize == sizeof(ipv4_ct_tuple_v1) && h->view.any.keySize == sizeof(ipv4_ct_tuple_v1) &&
       h->view.tcp.valueSize == sizeof(ct_entry_v1) && h->view.any.valueSize == sizeof(ct_entry_v1);
  if (!ok) { fail(env, "attachBpfCt: tcp and any must be ct maps (ipv4_ct_tuple_v1 -> ct_entry_v1, hash or LRU hash)"); return env.Undefined(); }
  h->view.lifeTcp = o.Get("lifeTcp").ToNumber().Uint32Value();
  h->view.lifeTcpSyn = o.Get("lifeTcpSyn").ToNumber().Uint32Value();
  h->view.lifeTcpFin = o.Get("lifeTcpFin").ToNumber().Uint32Value();
  h->view.lifeAny = o.Get("lifeAny").ToNumber().Uint32Value();
  return Napi::External<BpfCtHandle>::New(env, h.release(), [](Napi::Env, BpfCtHandle* x) { delete x; });
}

// attachBpfSock({ conn: Uint8Array, services: Uint8Array }): a node's sock4_conn and lb4_services buffers.
Napi::Value AttachBpfSock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) { fail(env, "attachBpfSock({ conn, services })"); return env.Undefined(); }
  Napi::Object o = info[0].As<Napi::Object>();
  auto h = std::make_unique<BpfSockHandle>();
  uint8_t* b = nullptr;
  size_t len = 0;
  if (!typed(env, o.Get("conn"), napi_uint8_array, &b, &len, &h->keep, "conn must be a Uint8Array")) return env.Undefined();
  bool ok = h->view.conn.attach(b, len);
  if (ok && !typed(env, o.Get("services"), napi_uint8_array, &b, &len, &h->keep, "services must be a Uint8Array")) return env.Undefined();
  ok = ok && h->view.services.attach(b, len) && h->view.conn.keySize == 16 && h->view.conn.valueSize >= 10 &&
       h->view.services.keySize == sizeof(lb4_key_v1);
  if (!ok) { fail(env, "attachBpfSock: conn must be sock4_conn_v1 and services lb4_services_v1 (hash or LRU hash)"); return env.Undefined(); }
  return Napi::External<BpfSockHandle>::New(env, h.release(), [](Napi::Env, BpfSockHandle* x) { delete x; });
}

struct BpfHashHandle {
  BpfHashView view;
  std::vector<Napi::ObjectReference> keep;
};

// attachBpfHash(bytes: Uint8Array over a HashMap/LruHashMap's whole buffer): the map as native code sees it.
Napi::Value AttachBpfHash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = std::make_unique<BpfHashHandle>();
  uint8_t* b = nullptr;
  size_t len = 0;
  if (info.Length() < 1 || !typed(env, info[0], napi_uint8_array, &b, &len, &h->keep, "attachBpfHash(bytes: Uint8Array)")) return env.Undefined();
  if (!h->view.attach(b, len)) { fail(env, "attachBpfHash: not a hash or LRU hash map (header v1) that fits its buffer"); return env.Undefined(); }
  return Napi::External<BpfHashHandle>::New(env, h.release(), [](Napi::Env, BpfHashHandle* x) { delete x; });
}

// bpfHashLookup(map, key: Uint8Array, mode) -> value byte offset or -1. Mode 0: lookup (counts and touches
// as HashMap.lookup); 1: peek (only finds); 2: peek, then hit() on what it found (the stages' form of a
// lookup). For tests against the TypeScript map.
// deferredEntriesProbe(adds: Int32Array, queries: Int32Array, out: Uint8Array): the deferring walk's
// entry set (pool.h DeferredEntries) after adding `adds` in turn: out[i] = has(queries[i]). For tests.
Napi::Value DeferredEntriesProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t* adds = nullptr;
  int32_t* queries = nullptr;
  uint8_t* out = nullptr;
  size_t na = 0, nq = 0, no = 0;
  if (info.Length() < 3 || !typed(env, info[0], napi_int32_array, &adds, &na, nullptr, "adds must be an Int32Array") ||
      !typed(env, info[1], napi_int32_array, &queries, &nq, nullptr, "queries must be an Int32Array") ||
      !typed(env, info[2], napi_uint8_array, &out, &no, nullptr, "out must be a Uint8Array") || no < nq) {
    return env.Undefined();
  }
  DeferredEntries set;
  for (size_t i = 0; i < na; i++) set.add(adds[i]);
  for (size_t i = 0; i < nq; i++) out[i] = set.has(queries[i]) ? 1 : 0;
  return env.Undefined();
}

Napi::Value BpfHashLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsExternal()) { fail(env, "bpfHashLookup(map, key, peek)"); return env.Undefined(); }
  BpfHashView& m = info[0].As<Napi::External<BpfHashHandle>>().Data()->view;
  uint8_t* k = nullptr;
  size_t len = 0;
  if (!typed(env, info[1], napi_uint8_array, &k, &len, nullptr, "key must be a Uint8Array")) return env.Undefined();
  if (len < m.keySize) { fail(env, "key shorter than the map's key_size"); return env.Undefined(); }
  const int32_t mode = info[2].ToNumber().Int32Value();
  if (mode == 0) return Napi::Number::New(env, double(m.lookup(k)));
  const int32_t e = m.peek(k);
  if (e < 0) return Napi::Number::New(env, -1.0);
  return Napi::Number::New(env, double(mode == 2 ? m.hit(e) : m.valueAt(e)));
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
  v.forwardEstablished = o.Get("forwardEstablished").ToBoolean().Value();
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
  int32_t from = 0;
  double* out = nullptr;
  if (!vectorArgs(info, 3, pool, &c) || !orderedArgs(info, c, 9, 8, &from, &out)) return env.Undefined();
  CtCall cc{info[7].ToNumber().DoubleValue(), 0, 0, 0};
  return orderedResult(env, out, cc, nf4OutputTracked(pool->view, ct->view, f->view, c, &cc, from));
}

// nf4Input(pool, ct, filter, slots, n, drops, handBack, from, out, now) -> stop index; out[1] end of the TS run, out[2] deferred.
Napi::Value Nf4Input(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 10 || !info[0].IsExternal() || !info[1].IsExternal() || !info[2].IsExternal()) { fail(env, "nf4Input(pool, ct, filter, slots, n, drops, handBack, from, out, now)"); return env.Undefined(); }
  PoolHandle* pool = info[0].As<Napi::External<PoolHandle>>().Data();
  CtHandle* ct = info[1].As<Napi::External<CtHandle>>().Data();
  FilterHandle* f = info[2].As<Napi::External<FilterHandle>>().Data();
  Call c;
  int32_t from = 0;
  double* out = nullptr;
  if (!vectorArgs(info, 3, pool, &c) || !orderedArgs(info, c, 7, 8, &from, &out)) return env.Undefined();
  CtCall cc{info[9].ToNumber().DoubleValue(), 0, 0, 0};
  return orderedResult(env, out, cc, nf4InputTracked(pool->view, ct->view, f->view, c, &cc, from));
}

// nf4Forward(pool, ct, filter, slots, n, drops, handBack) -> packets left for TypeScript (handBack marks them).
Napi::Value Nf4Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[0].IsExternal() || !info[1].IsExternal() || !info[2].IsExternal()) { fail(env, "nf4Forward(pool, ct, filter, slots, n, drops, handBack)"); return env.Undefined(); }
  PoolHandle* pool = info[0].As<Napi::External<PoolHandle>>().Data();
  CtHandle* ct = info[1].As<Napi::External<CtHandle>>().Data();
  FilterHandle* f = info[2].As<Napi::External<FilterHandle>>().Data();
  Call c;
  if (!vectorArgs(info, 3, pool, &c)) return env.Undefined();
  return Napi::Number::New(env, nf4ForwardFiltered(pool->view, ct->view, f->view, c));
}

// engineTables(engine, ip4: External[], reassemblyEmpty: Uint8Array, devices: External|null, policyFlags: Uint8Array,
// open: Uint8Array): the tables of the stages attached after the engine (IPv4 routing, edge) and the per-node
// flags JavaScript refreshes at each run (reassembly table empty; policy4 may run natively / policy on).
Napi::Value EngineTables(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsExternal() || !info[1].IsArray()) { fail(env, "engineTables(engine, ip4[], reassemblyEmpty, devices, policyFlags, open)"); return env.Undefined(); }
  EngineHandle* h = info[0].As<Napi::External<EngineHandle>>().Data();
  EngineView& v = h->view;
  Napi::Array ip4 = info[1].As<Napi::Array>();
  if (int32_t(ip4.Length()) != v.nodes) { fail(env, "engineTables: one ip4 handle per node"); return env.Undefined(); }
  size_t m = 0;
  if (!typed(env, info[2], napi_uint8_array, &v.reassemblyEmpty, &m, &h->keep, "reassemblyEmpty must be a Uint8Array") || int32_t(m) < v.nodes) return env.Undefined();
  size_t openLen = 0;
  if (!typed(env, info[4], napi_uint8_array, &v.policyFlags, &m, &h->keep, "policyFlags must be a Uint8Array") || int32_t(m) < v.nodes) return env.Undefined();
  uint8_t* open = nullptr;
  if (!typed(env, info[5], napi_uint8_array, &open, &openLen, &h->keep, "open must be a Uint8Array")) return env.Undefined();
  v.open = open;
  v.openLen = int32_t(openLen);
  v.devices = nullptr;
  if (info[3].IsExternal()) {
    v.devices = &info[3].As<Napi::External<DevHandle>>().Data()->view;
    h->keep.push_back(Napi::Persistent(info[3].As<Napi::Object>()));
  }
  v.ip4.clear();
  for (int32_t i = 0; i < v.nodes; i++) {
    Napi::Value x = ip4.Get(uint32_t(i));
    if (!x.IsExternal()) { fail(env, "engineTables: ip4 handles must be externals"); return env.Undefined(); }
    v.ip4.push_back(&x.As<Napi::External<Ip4Handle>>().Data()->tables.view);
    h->keep.push_back(Napi::Persistent(x.As<Napi::Object>()));
  }
  return env.Undefined();
}

// engineFilters(engine, filters: External[]): per node, the compiled filter table (nffilter.h) for nf4-input/nf4-output.
Napi::Value EngineFilters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsArray()) { fail(env, "engineFilters(engine, filters[])"); return env.Undefined(); }
  EngineHandle* h = info[0].As<Napi::External<EngineHandle>>().Data();
  Napi::Array fs = info[1].As<Napi::Array>();
  if (int32_t(fs.Length()) != h->view.nodes) { fail(env, "engineFilters: one filter handle per node"); return env.Undefined(); }
  h->view.filters.clear();
  for (int32_t i = 0; i < h->view.nodes; i++) {
    Napi::Value x = fs.Get(uint32_t(i));
    if (!x.IsExternal()) { fail(env, "engineFilters: filter handles must be externals"); return env.Undefined(); }
    h->view.filters.push_back(&x.As<Napi::External<FilterHandle>>().Data()->view);
    h->keep.push_back(Napi::Persistent(x.As<Napi::Object>()));
  }
  return env.Undefined();
}

// engineEbpf(engine, ct: (External | null)[], sock: (External | null)[]): per node, its attachBpfCt and
// attachBpfSock handles (kube-proxy ebpf mode) or null.
Napi::Value EngineEbpf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsExternal() || !info[1].IsArray() || !info[2].IsArray()) { fail(env, "engineEbpf(engine, ct[], sock[])"); return env.Undefined(); }
  EngineHandle* h = info[0].As<Napi::External<EngineHandle>>().Data();
  Napi::Array cts = info[1].As<Napi::Array>();
  Napi::Array socks = info[2].As<Napi::Array>();
  if (int32_t(cts.Length()) != h->view.nodes || int32_t(socks.Length()) != h->view.nodes) { fail(env, "engineEbpf: one entry per node"); return env.Undefined(); }
  h->view.ebpf.assign(size_t(h->view.nodes), nullptr);
  h->view.sock.assign(size_t(h->view.nodes), nullptr);
  for (int32_t i = 0; i < h->view.nodes; i++) {
    Napi::Value x = cts.Get(uint32_t(i));
    Napi::Value y = socks.Get(uint32_t(i));
    if (!(x.IsNull() || x.IsUndefined() || x.IsExternal()) || !(y.IsNull() || y.IsUndefined() || y.IsExternal())) {
      fail(env, "engineEbpf: entries must be attachBpfCt / attachBpfSock handles or null");
      return env.Undefined();
    }
    if (x.IsExternal()) {
      h->view.ebpf[size_t(i)] = &x.As<Napi::External<BpfCtHandle>>().Data()->view;
      h->keep.push_back(Napi::Persistent(x.As<Napi::Object>()));
    }
    if (y.IsExternal()) {
      h->view.sock[size_t(i)] = &y.As<Napi::External<BpfSockHandle>>().Data()->view;
      h->keep.push_back(Napi::Persistent(y.As<Napi::Object>()));
    }
  }
  return env.Undefined();
}

Napi::Value EngineIpvs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsArray()) { fail(env, "engineIpvs(engine, ipvs[])"); return env.Undefined(); }
  EngineHandle* h = info[0].As<Napi::External<EngineHandle>>().Data();
  Napi::Array xs = info[1].As<Napi::Array>();
  if (int32_t(xs.Length()) != h->view.nodes) { fail(env, "engineIpvs: one entry per node"); return env.Undefined(); }
  h->view.ipvs.assign(size_t(h->view.nodes), nullptr);
  for (int32_t i = 0; i < h->view.nodes; i++) {
    Napi::Value x = xs.Get(uint32_t(i));
    if (x.IsNull() || x.IsUndefined()) continue;
    if (!x.IsExternal()) { fail(env, "engineIpvs: entries must be attachIpvs handles or null"); return env.Undefined(); }
    h->view.ipvs[size_t(i)] = &x.As<Napi::External<IpvsHandle>>().Data()->view;
    h->keep.push_back(Napi::Persistent(x.As<Napi::Object>()));
  }
  return env.Undefined();
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
  exports.Set("attachBpfHash", Napi::Function::New(env, AttachBpfHash));
  exports.Set("attachBpfCt", Napi::Function::New(env, AttachBpfCt));
  exports.Set("attachBpfSock", Napi::Function::New(env, AttachBpfSock));
  exports.Set("attachIpvs", Napi::Function::New(env, AttachIpvs));
  exports.Set("engineIpvs", Napi::Function::New(env, EngineIpvs));
  exports.Set("engineEbpf", Napi::Function::New(env, EngineEbpf));
  exports.Set("bpfHashLookup", Napi::Function::New(env, BpfHashLookup));
  exports.Set("deferredEntriesProbe", Napi::Function::New(env, DeferredEntriesProbe));
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
  exports.Set("attachEngine", Napi::Function::New(env, AttachEngine));
  exports.Set("engineRun", Napi::Function::New(env, EngineRun));
  exports.Set("engineInject", Napi::Function::New(env, EngineInject));
  exports.Set("engineTables", Napi::Function::New(env, EngineTables));
  exports.Set("engineFilters", Napi::Function::New(env, EngineFilters));
  exports.Set("attachIp4", Napi::Function::New(env, AttachIp4));
  exports.Set("ip4Lookup", Napi::Function::New(env, Ip4Lookup));
  exports.Set("ip4Output", Napi::Function::New(env, Ip4Output));
  exports.Set("ip4Local", Napi::Function::New(env, Ip4Local));
  exports.Set("ip4Defrag", Napi::Function::New(env, Ip4Defrag));
  exports.Set("nodeport4", Napi::Function::New(env, Nodeport4));
  exports.Set("ipvs4In", Napi::Function::New(env, Ipvs4In));
  exports.Set("sock4Connect", Napi::Function::New(env, Sock4Connect));
  exports.Set("attachDevices", Napi::Function::New(env, AttachDevices));
  exports.Set("frameInput", Napi::Function::New(env, FrameInput));
  exports.Set("vethXmit", Napi::Function::New(env, VethXmit));
  exports.Set("underlayXmit", Napi::Function::New(env, UnderlayXmit));
  exports.Set("policy4", Napi::Function::New(env, Policy4));
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
