/**
 * Trace records: written only when tracing is on (stages test `rt.tracing` before building any
 * text), so tracing costs one branch per packet when off.
 */
export interface TraceRecord {
  /** Input frame number (1-based); generated packets carry the frame that caused them. */
  readonly frame: number;
  /** Packet slot at the time, to tell a frame's clones and generated packets apart. */
  readonly packet: number;
  readonly node: string;
  readonly stage: string;
  /** Observation point, e.g. `pod eth0 default/pod-a`, `host veth cali…`, `vxlan flannel.1`, `underlay eth0`. */
  readonly point: string;
  /** What the stage decided, e.g. `forward`, `encap`, `drop TTL_EXCEEDED`. */
  readonly decision: string;
  /** The rule, route, map entry or conntrack line behind the decision. */
  readonly detail: string;
  readonly tsSec: number;
  readonly tsNsec: number;
}

export interface TraceSink {
  push(record: TraceRecord): void;
}
