import type { PacketPool } from '../engine/pool.js';
import { PacketFlag } from '../engine/pool.js';
import type { EngineObserver } from '../engine/runtime.js';
import { PacketView } from '../packet/view.js';
import { notEthernetInfo, packetInfo, type PacketInfo } from './packet-info.js';

/** One hop of a packet's walk: a device it was seen at, and the packet as it was there. */
export interface Hop {
  readonly device: number;
  /** 0 received by the device, 1 sent by it. */
  readonly dir: 0 | 1;
  readonly stage: string;
  readonly node: number;
  readonly info: PacketInfo | null;
}

/** How one packet's walk ended. */
export interface PacketResult {
  readonly frame: number;
  readonly generated: boolean;
  readonly l2Rewritten: boolean;
  readonly verdict: number;
  readonly drop: number;
  /** Parse error code when the drop is MALFORMED_FRAME. */
  readonly parseError: number;
  readonly stage: string;
  readonly node: number;
  readonly ingress: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly hops: Hop[];
  /** The packet where its walk ended. */
  readonly info: PacketInfo;
}

/**
 * Records every packet's hops and end for the CLI (lines, Hubble flows). Observers are off the
 * hot path: the engine calls them only when the replay asked for output that needs them.
 */
export class Recorder implements EngineObserver {
  readonly results: PacketResult[] = [];
  private readonly hops: Hop[][];
  private readonly view = new PacketView();

  /** `hopInfo`: parse the packet at every hop (Hubble per-hop flows), not only at its end. */
  constructor(pool: PacketPool, private readonly hopInfo: boolean) {
    this.hops = Array.from({ length: pool.size }, () => []);
  }

  observe(pool: PacketPool, slot: number, device: number, dir: 0 | 1, stage: string): void {
    const info = this.hopInfo ? packetInfo(this.view, pool.bufs[slot], pool.start[slot], pool.len[slot], pool.wireLen[slot]) : null;
    this.hops[slot].push({ device, dir, stage, node: pool.node[slot], info });
  }

  generated(pool: PacketPool, slot: number): void {
    // A generated packet starts with no hops; a fragment's clone starts with its original's.
    if (!(pool.flags[slot] & PacketFlag.GENERATED)) return;
    this.hops[slot] = [];
  }

  final(pool: PacketPool, slot: number, stage: string): void {
    const hops = this.hops[slot];
    this.hops[slot] = [];
    this.results.push({
      frame: pool.frameNo[slot],
      generated: (pool.flags[slot] & PacketFlag.GENERATED) !== 0,
      l2Rewritten: (pool.flags[slot] & PacketFlag.L2_REWRITTEN) !== 0,
      verdict: pool.verdict[slot],
      drop: pool.drop[slot],
      parseError: pool.aux1[slot],
      stage,
      node: pool.node[slot],
      ingress: pool.ingress[slot],
      tsSec: pool.tsSec[slot],
      tsNsec: pool.tsNsec[slot],
      hops,
      // A frame that never became Ethernet is not described as one (its bytes are of another link type).
      info: pool.flags[slot] & PacketFlag.NOT_ETHERNET
        ? notEthernetInfo(pool.wireLen[slot])
        : packetInfo(this.view, pool.bufs[slot], pool.start[slot], pool.len[slot], pool.wireLen[slot]),
    });
  }

  take(): PacketResult[] {
    return this.results.splice(0, this.results.length);
  }
}
