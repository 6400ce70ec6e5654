/**
 * The part of Hubble's flow API that dpemu writes, as protobuf schema text: the messages and fields
 * HubbleWriter fills, with the field numbers and types of Cilium's api/v1/flow/flow.proto and
 * api/v1/observer/observer.proto (GetFlowsResponse), so a reader compiled from Cilium's own files decodes
 * dpemu's messages. Fields dpemu never sets are left out (a decoder skips nothing: they are absent).
 * Fields are declared in number order: protobufjs encodes in declaration order, and Go's marshaller
 * (Hubble's) writes in number order, so the bytes match.
 *
 * The well-known types are declared here too (same numbers as google/protobuf's), so the schema parses
 * without import resolution.
 */
const WELL_KNOWN = `syntax = "proto3";
package google.protobuf;

message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message BoolValue { bool value = 1; }
`;

const FLOW = `syntax = "proto3";
package flow;
import "wkt.proto";

message Flow {
  google.protobuf.Timestamp time = 1;
  Verdict verdict = 2;
  uint32 drop_reason = 3;
  Ethernet ethernet = 4;
  IP IP = 5;
  Layer4 l4 = 6;
  Endpoint source = 8;
  Endpoint destination = 9;
  FlowType Type = 10;
  string node_name = 11;
  CiliumEventType event_type = 19;
  TrafficDirection traffic_direction = 22;
  TraceObservationPoint trace_observation_point = 24;
  DropReason drop_reason_desc = 25;
  google.protobuf.BoolValue is_reply = 26;
  NetworkInterface interface = 28;
  string Summary = 100000;
}

enum FlowType { UNKNOWN_TYPE = 0; L3_L4 = 1; L7 = 2; SOCK = 3; }

enum Verdict {
  VERDICT_UNKNOWN = 0; FORWARDED = 1; DROPPED = 2; ERROR = 3; AUDIT = 4; REDIRECTED = 5; TRACED = 6; TRANSLATED = 7;
}

enum TraceObservationPoint {
  UNKNOWN_POINT = 0; TO_PROXY = 1; TO_HOST = 2; TO_STACK = 3; TO_OVERLAY = 4; FROM_ENDPOINT = 5; FROM_PROXY = 6;
  FROM_HOST = 7; FROM_STACK = 8; FROM_OVERLAY = 9; FROM_NETWORK = 10; TO_NETWORK = 11; TO_ENDPOINT = 101;
}

enum TrafficDirection { TRAFFIC_DIRECTION_UNKNOWN = 0; INGRESS = 1; EGRESS = 2; }

enum IPVersion { IP_NOT_USED = 0; IPv4 = 1; IPv6 = 2; }

message Ethernet { string source = 1; string destination = 2; }
message IP { string source = 1; string destination = 2; IPVersion ipVersion = 3; }

message Layer4 {
  oneof protocol { TCP TCP = 1; UDP UDP = 2; ICMPv4 ICMPv4 = 3; ICMPv6 ICMPv6 = 4; }
}
message TCP { uint32 source_port = 1; uint32 destination_port = 2; TCPFlags flags = 3; }
message TCPFlags {
  bool FIN = 1; bool SYN = 2; bool RST = 3; bool PSH = 4; bool ACK = 5; bool URG = 6; bool ECE = 7; bool CWR = 8; bool NS = 9;
}
message UDP { uint32 source_port = 1; uint32 destination_port = 2; }
message ICMPv4 { uint32 type = 1; uint32 code = 2; }
message ICMPv6 { uint32 type = 1; uint32 code = 2; }

message Endpoint { uint32 ID = 1; uint32 identity = 2; string namespace = 3; repeated string labels = 4; string pod_name = 5; }
message CiliumEventType { int32 type = 1; int32 sub_type = 2; }
message NetworkInterface { uint32 index = 1; string name = 2; }
`;

const OBSERVER = `syntax = "proto3";
package observer;
import "wkt.proto";
import "flow.proto";

message GetFlowsResponse {
  oneof response_types { flow.Flow flow = 1; }
  string node_name = 1000;
  google.protobuf.Timestamp time = 1001;
}
`;

export interface ProtoFile {
  readonly name: string;
  readonly text: string;
}

/**
 * The schema as three files (protoc takes them as they are: `protoc --decode=observer.GetFlowsResponse
 * observer.proto`). DropReason lists Cilium's reasons from the drop table (src/engine/drop-reasons.ts;
 * codes below 220 carry flow.proto's names and numbers); dpemu's own reasons (220 and up) are values
 * the enum does not name, which proto3's open enums carry as numbers.
 */
export function flowProtoFiles(reasons: readonly { readonly name: string; readonly code: number }[]): ProtoFile[] {
  const values = reasons.filter((r) => r.code < 220).map((r) => `  ${r.name} = ${r.code};`).join('\n');
  const dropReason = `\nenum DropReason {\n  DROP_REASON_UNKNOWN = 0;\n${values}\n}\n`;
  return [
    { name: 'wkt.proto', text: WELL_KNOWN },
    { name: 'flow.proto', text: FLOW + dropReason },
    { name: 'observer.proto', text: OBSERVER },
  ];
}
