import type { PacketPool } from '../engine/pool.js';
import { VERDICT_NAMES } from '../engine/pool.js';
import type { EngineObserver } from '../engine/runtime.js';
import { dropReasonInfo } from '../engine/drop-reasons.js';
import { parseErrorName } from '../packet/errors.js';
import type { Device } from '../dataplane/devices.js';

/** A frame as a device's tcpdump would have seen it. */
export interface CapturedFrame {
  readonly device: number;
  /** 0 received by the device, 1 sent by it. */
  readonly dir: 0 | 1;
  readonly frame: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly bytes: Uint8Array;
  readonly wireLen: number;
  /** `<stage>: sent|received frame N` or, for the last sighting of a dropped packet, the drop. */
  comment: string;
}

/**
 * Keeps a copy of every frame at every device it crosses (what `tcpdump -i <dev>` would show
 * there), for `--write-pcaps` and the kernel comparison tests. The last sighting of a dropped
 * packet gets the drop reason in its comment, so Wireshark shows why it went no further.
 */
export class DeviceCapture implements EngineObserver {
  readonly frames: CapturedFrame[] = [];
  private readonly last: Int32Array;

  constructor(pool: PacketPool, private readonly devices: readonly Device[]) {
    this.last = new Int32Array(pool.size).fill(-1);
  }

  observe(pool: PacketPool, slot: number, device: number, dir: 0 | 1, stage: string): void {
    const st = pool.start[slot];
    const bytes = pool.bufs[slot].slice(st, st + pool.len[slot]);
    this.last[slot] = this.frames.length;
    this.frames.push({
      device,
      dir,
      frame: pool.frameNo[slot],
      tsSec: pool.tsSec[slot],
      tsNsec: pool.tsNsec[slot],
      bytes,
      wireLen: pool.wireLen[slot],
      comment: `frame ${pool.frameNo[slot]}: ${dir ? 'sent by' : 'received by'} ${this.devices[device].label} (${stage})`,
    });
  }

  final(pool: PacketPool, slot: number, stage: string): void {
    const i = this.last[slot];
    this.last[slot] = -1;
    if (i < 0) return;
    const v = pool.verdict[slot];
    if (v === 2) {
      const d = dropReasonInfo(pool.drop[slot]);
      const why = d.name === 'MALFORMED_FRAME' ? `${d.name} (${parseErrorName(pool.aux1[slot])})` : d.name;
      this.frames[i].comment += `; then DROPPED by ${stage}: ${why} - ${d.text}`;
    } else {
      this.frames[i].comment += `; verdict ${VERDICT_NAMES[v]} at ${stage}`;
    }
  }

  generated(_pool: PacketPool, slot: number): void {
    this.last[slot] = -1;
  }

  /**
   * Hands over the frames kept so far and forgets them (bounded memory for a long replay). Only between
   * vectors, when every packet has ended: a packet in flight would lose its verdict comment.
   */
  take(): CapturedFrame[] {
    const out = this.frames.splice(0, this.frames.length);
    this.last.fill(-1);
    return out;
  }

  /** Frames seen at one device, in order; `dir` filters received (0) or sent (1). */
  at(device: number, dir?: 0 | 1): CapturedFrame[] {
    return this.frames.filter((f) => f.device === device && (dir === undefined || f.dir === dir));
  }
}
