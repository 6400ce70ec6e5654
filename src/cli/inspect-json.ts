/** `dpemu inspect --json`: one object per frame keyed by Wireshark display-filter field names (tshark -T fields text). */
import { packetFields, type PacketFields } from '../packet/fields.js';
import type { PacketView } from '../packet/view.js';

export interface FrameMeta {
  /** 1-based, as tshark's frame.number. */
  readonly number: number;
  readonly sec: number;
  readonly nsec: number;
  /** False for a frame without a timestamp (a Simple Packet Block): tshark leaves frame.time_epoch empty. */
  readonly timed: boolean;
  /** Only pcapng files have interface ids (tshark leaves frame.interface_id empty for pcap). */
  readonly interfaceId: number | undefined;
  readonly comments: readonly string[] | undefined;
}

/** tshark prints frame.time_epoch as seconds, a dot and nine digits: `1700000000.123456789`. */
export function timeEpoch(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

export function frameJson(m: FrameMeta, v: PacketView): string {
  const o: PacketFields = { 'frame.number': String(m.number) };
  if (m.timed) o['frame.time_epoch'] = timeEpoch(m.sec, m.nsec);
  if (m.interfaceId !== undefined) o['frame.interface_id'] = String(m.interfaceId);
  // Several opt_comment options: an array, as any field that occurs more than once (tshark joins them with ',').
  if (m.comments !== undefined) o['frame.comment'] = m.comments.length === 1 ? m.comments[0] : [...m.comments];
  Object.assign(o, packetFields(v));
  return JSON.stringify(o);
}
