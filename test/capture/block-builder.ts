/** Hand-builds pcapng blocks for tests, independent of PcapngWriter (so the writer is not its own oracle). */
export class Blocks {
  private parts: Buffer[] = [];
  constructor(private le = true) {}

  private u16(v: number): Buffer {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  }
  private u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  }
  private pad(b: Buffer): Buffer {
    return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  }
  option(code: number, value: Buffer): Buffer {
    return Buffer.concat([this.u16(code), this.u16(value.length), this.pad(value)]);
  }
  opts(...o: Buffer[]): Buffer {
    return o.length === 0 ? Buffer.alloc(0) : Buffer.concat([...o, Buffer.alloc(4)]);
  }
  block(type: number, body: Buffer): this {
    const total = 12 + body.length;
    this.parts.push(Buffer.concat([this.u32(type), this.u32(total), body, this.u32(total)]));
    return this;
  }
  shb(le = this.le, options: Buffer = Buffer.alloc(0)): this {
    this.le = le;
    const body = Buffer.concat([this.u32(0x1a2b3c4d), this.u16(1), this.u16(0), Buffer.alloc(8, 0xff), options]);
    return this.block(0x0a0d0d0a, body);
  }
  idb(linkType: number, snaplen: number, options: Buffer = Buffer.alloc(0)): this {
    return this.block(1, Buffer.concat([this.u16(linkType), this.u16(0), this.u32(snaplen), options]));
  }
  epb(ifId: number, hi: number, lo: number, data: Buffer, wireLen = data.length, options: Buffer = Buffer.alloc(0)): this {
    return this.block(6, Buffer.concat([this.u32(ifId), this.u32(hi), this.u32(lo), this.u32(data.length), this.u32(wireLen), this.pad(data), options]));
  }
  opb(ifId: number, hi: number, lo: number, data: Buffer, options: Buffer = Buffer.alloc(0)): this {
    return this.block(2, Buffer.concat([this.u16(ifId), this.u16(0), this.u32(hi), this.u32(lo), this.u32(data.length), this.u32(data.length), this.pad(data), options]));
  }
  spb(wireLen: number, data: Buffer): this {
    return this.block(3, Buffer.concat([this.u32(wireLen), this.pad(data)]));
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Hand-built classic pcap. */
export function pcapFile(opts: { le?: boolean; nsec?: boolean; linkField?: number; snaplen?: number; version?: [number, number] }, records: { sec: number; frac: number; data: Buffer; wireLen?: number }[]): Buffer {
  const le = opts.le ?? true;
  const h = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number): void => void (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const w16 = (b: Buffer, v: number, o: number): void => void (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  w32(h, opts.nsec ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, opts.version?.[0] ?? 2, 4);
  w16(h, opts.version?.[1] ?? 4, 6);
  w32(h, opts.snaplen ?? 65535, 16);
  w32(h, opts.linkField ?? 1, 20);
  const parts: Buffer[] = [h];
  for (const r of records) {
    const rh = Buffer.alloc(16);
    w32(rh, r.sec, 0);
    w32(rh, r.frac, 4);
    w32(rh, r.data.length, 8);
    w32(rh, r.wireLen ?? r.data.length, 12);
    parts.push(rh, r.data);
  }
  return Buffer.concat(parts);
}
