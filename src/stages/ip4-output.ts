import { Drop } from '../engine/drop-reasons.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind } from '../dataplane/devices.js';
import { neighbourKey, type NodeContext } from '../dataplane/node-context.js';
import { ipv4HeaderChecksum } from '../packet/checksum.js';
import { ipv4ToString, macToString } from '../packet/format.js';
import { rd16, wr16 } from '../dataplane/wire.js';
import type { PacketPool } from '../engine/pool.js';
import { S } from './names.js';

/**
 * ip_finish_output + neighbour output: a datagram larger than the egress MTU (DF clear by now) is
 * fragmented as ip_do_fragment does (8-byte aligned payloads, same ID, MF on all but the last, the
 * header copied), then the Ethernet header is rewritten from the static neighbour of the next hop
 * and the packet goes to its egress device.
 */
const NEXT_NAMES = [S.POLICY4_INGRESS, S.VXLAN4_ENCAP, S.UNDERLAY_XMIT];

export const ip4Output = defineStage<NodeContext>({
  name: S.IP4_OUTPUT,
  next: NEXT_NAMES,
  drops: [Drop.HOST_UNREACHABLE],
  describe: 'fragmentation and L2 rewrite (ip_finish_output)',
  process(rt, slots, n, pool) {
    const ctx = rt.ctx;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const dev = ctx.devices.get(pool.aux0[s]);
      const b = pool.bufs[s];
      const l3 = pool.l3[s];
      const nh = pool.aux1[s] >>> 0;
      const mac = ctx.neighbours.get(neighbourKey(dev.id, nh));
      if (!mac) {
        if (rt.tracing) rt.trace(s, dev.label, 'drop HOST_UNREACHABLE', `no neighbour entry for ${ipv4ToString(nh)} on ${dev.name}`);
        rt.drop(s, Drop.HOST_UNREACHABLE);
        continue;
      }
      const next = dev.kind === DeviceKind.HOST_VETH ? 0 : dev.kind === DeviceKind.VXLAN ? 1 : 2;
      // A datagram defrag reassembled is re-fragmented no larger than its largest original
      // fragment: ip_do_fragment uses min(mtu, IPCB frag_max_size), and __ip_finish_output sends
      // any skb with frag_max_size set to ip_fragment. So node-3 hands backend-b 1444 + 84, as
      // the tunnel carried them, not 1500 + 28 for the veth's MTU (kernel capture backend-b.eth0).
      const fragMax = pool.aux2[s];
      const mtu = fragMax > 0 && fragMax < dev.mtu ? fragMax : dev.mtu;
      if (rd16(b, l3 + 2) > mtu) {
        const made = fragment(pool, s, mtu);
        if (rt.tracing) rt.trace(s, dev.label, 'fragment', `${made.length + 1} fragments of at most ${mtu} bytes for ${dev.name} (ip_do_fragment${mtu < dev.mtu ? `, frag_max_size ${fragMax} < mtu ${dev.mtu}` : ''})`);
        for (const f of made) {
          rewrite(pool, f, mac, dev.mac);
          pool.device[f] = dev.id;
          rt.emit(f, NEXT_NAMES[next]);
        }
      }
      rewrite(pool, s, mac, dev.mac);
      pool.device[s] = dev.id;
      if (rt.tracing) rt.trace(s, dev.label, `xmit ${dev.name}`, `neigh ${ipv4ToString(nh)} lladdr ${macToString(mac, 0)} dev ${dev.name}`);
      rt.next(s, next);
    }
  },
});

function rewrite(pool: PacketPool, s: number, dst: Uint8Array, src: Uint8Array): void {
  const b = pool.bufs[s];
  const st = pool.start[s];
  b.set(dst, st);
  b.set(src, st + 6);
}

/**
 * Splits slot `s` as ip_do_fragment does: payload pieces of (mtu - ihl) rounded down to 8 bytes,
 * each with a copy of the header, the same ID, MF on all but the last (the last keeps the
 * original MF), offsets in 8-byte units. Fragments leave in order: new slots carry all pieces but
 * the last, which stays in `s`. Returns the new slots, first fragment first.
 */
function fragment(pool: PacketPool, s: number, mtu: number): number[] {
  const b = pool.bufs[s];
  const st = pool.start[s];
  const l3 = pool.l3[s];
  const ihl = (b[l3] & 0x0f) * 4;
  const hdr = l3 - st + ihl;
  const payload = rd16(b, l3 + 2) - ihl;
  const fragWord = rd16(b, l3 + 6);
  const baseOff = (fragWord & 0x1fff) * 8;
  const chunk = (mtu - ihl) & ~7;
  const lastOff = Math.floor((payload - 1) / chunk) * chunk;
  const made: number[] = [];
  const setHeader = (fb: Uint8Array, fl3: number, size: number, off: number, mf: number): void => {
    wr16(fb, fl3 + 2, ihl + size);
    wr16(fb, fl3 + 6, (fragWord & 0x4000) | mf | ((baseOff + off) >> 3));
    wr16(fb, fl3 + 10, ipv4HeaderChecksum(fb, fl3, ihl));
  };
  for (let off = 0; off < lastOff; off += chunk) {
    const f = pool.clone(s);
    const fb = pool.bufs[f];
    const fs = pool.start[f];
    fb.copyWithin(fs + hdr, fs + hdr + off, fs + hdr + off + chunk);
    setHeader(fb, fs + (l3 - st), chunk, off, 0x2000);
    pool.len[f] = hdr + chunk;
    pool.wireLen[f] = pool.len[f];
    pool.l4[f] = off === 0 ? pool.l4[f] : -1;
    made.push(f);
  }
  const size = payload - lastOff;
  b.copyWithin(st + hdr, st + hdr + lastOff, st + hdr + lastOff + size);
  setHeader(b, l3, size, lastOff, fragWord & 0x2000);
  pool.len[s] = hdr + size;
  pool.wireLen[s] = pool.len[s];
  pool.l4[s] = -1;
  return made;
}
