/**
 * What the native IPv4 stages (native/src/ip4.h: ip4-lookup, ip4-output, ip4-local, ip4-defrag and
 * the pass-through cases of nodeport4, ipvs4-in and sock4-connect) read of a node, in the native
 * layouts: the FIB in RouteTable order, the static neighbours, each device's kind, and the few
 * per-node switches the TS stages test (tunnel mode and port, eBPF / IPVS present, NodePort's local
 * addresses). Built once at attach: routes and neighbours do not change after the node is built.
 */
import type { NodeContext } from '../dataplane/node-context.js';
import { nativeNeighbourV1, nativeRouteV1 } from './layouts.js';
import type { NativeIp4Tables } from './loader.js';

export function ip4Tables(ctx: NodeContext): NativeIp4Tables {
  const rs = ctx.routes.routes;
  const routes = new Uint8Array(rs.length * nativeRouteV1.size);
  rs.forEach((r, i) => {
    const o = i * nativeRouteV1.size;
    nativeRouteV1.set.prefix(routes, o, r.prefix >>> 0);
    nativeRouteV1.set.via(routes, o, r.via >>> 0);
    nativeRouteV1.set.dev(routes, o, r.dev >>> 0);
    nativeRouteV1.set.len(routes, o, r.len);
    nativeRouteV1.set.kind(routes, o, r.kind);
  });
  const ns = [...ctx.neighbours];
  const neighbours = new Uint8Array(ns.length * nativeNeighbourV1.size);
  ns.forEach(([key, mac], i) => {
    const o = i * nativeNeighbourV1.size;
    nativeNeighbourV1.set.dev(neighbours, o, Math.floor(key / 4294967296));
    nativeNeighbourV1.set.ip(neighbours, o, key % 4294967296);
    nativeNeighbourV1.set.mac_hi(neighbours, o, (mac[0] << 8) | mac[1]);
    nativeNeighbourV1.set.mac_lo(neighbours, o, ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0);
  });
  const deviceKinds = Uint8Array.from(ctx.devices.all, (d) => d.kind);
  const tun = ctx.cluster.tunnel;
  const nodeIp = ctx.node.ip32 >>> 0;
  return {
    routes, neighbours, deviceKinds,
    vxlan: tun.mode === 'vxlan', tunnelPort: tun.port,
    ebpf: ctx.ebpf !== null, ipvs: ctx.ipvs !== null,
    // NodePortLb.isLocal: the node's address and its SNAT address (the VTEP's with VXLAN).
    nodeIp, snatIp: tun.mode === 'vxlan' ? ctx.node.vtepIp32 >>> 0 : nodeIp,
  };
}
