/** Packet view: parse frames into a reused flat record, checksums, builders, tshark-style fields. */
export * from './errors.js';
export * from './view.js';
export { parsePacket } from './parse.js';
export * from './checksum.js';
export * from './build.js';
export * from './format.js';
export * from './fields.js';
