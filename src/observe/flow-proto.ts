/**
 * Hubble flows as protobuf (protobufjs over the schema in flow-schema.ts): each `hubble observe -o jsonpb`
 * object HubbleWriter builds becomes the observer.GetFlowsResponse message it is the JSON form of, written
 * varint-length-delimited (protobufjs encodeDelimited, Java's writeDelimitedTo, Go's protodelim), one
 * message per JSON line. The JSON object is the one source: the conversion is proto3's JSON mapping run
 * backwards, strictly (an unknown field name, a wrong type or an enum name the schema lacks is an error:
 * that is a writer bug, and it is what the tests check every emitted flow against).
 */
import protobuf from 'protobufjs';
import { FileSink } from '../capture/sink.js';
import { DROP_REASONS } from '../engine/drop-reasons.js';
import { DpemuError } from '../util/errors.js';
import { flowProtoFiles } from './flow-schema.js';

/** A flow object that does not fit the schema (a field name, type or enum value). */
export class FlowSchemaError extends DpemuError {
  constructor(path: string, problem: string) {
    super('FLOW_SCHEMA', `Hubble flow ${path}: ${problem}`);
  }
}

/** The flow file cannot be opened or written. */
export class FlowFileError extends DpemuError {
  constructor(file: string, cause: unknown) {
    // The system's own words (EISDIR, ENOSPC ...), also when FileSink wrapped them in a CaptureFileError.
    const root = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
    const why = root instanceof Error ? root.message : String(root);
    super('FLOW_FILE', `cannot write ${file} (${why}); name a writable file`, { cause });
  }
}

let root: protobuf.Root | undefined;

/** The parsed schema (once per process). */
export function flowRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    for (const f of flowProtoFiles(DROP_REASONS)) protobuf.parse(f.text, r, { keepCase: true });
    r.resolveAll();
    root = r;
  }
  return root;
}

export function getFlowsResponseType(): protobuf.Type {
  return flowRoot().lookupType('observer.GetFlowsResponse');
}

const TIMESTAMP = '.google.protobuf.Timestamp';
const BOOL_VALUE = '.google.protobuf.BoolValue';
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

type Plain = Record<string, unknown>;

/**
 * Checks one JSON object against `type` and returns the message's plain form (`asJson` false: enums as
 * numbers, Timestamp as {seconds, nanos}) or its canonical JSON (`asJson` true: as given); either way
 * without the fields proto3 leaves off the wire (a scalar or enum at its default, an empty list), as
 * Go's protojson leaves them out of the JSON Hubble prints.
 */
export function messageFromJson(json: unknown, type: protobuf.Type, path = type.name, asJson = false): Plain {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new FlowSchemaError(path, `expected an object for ${type.name}`);
  const out: Plain = {};
  for (const [key, value] of Object.entries(json as Plain)) {
    const field = type.fields[key];
    if (!field) throw new FlowSchemaError(`${path}.${key}`, `${type.fullName.slice(1)} has no field ${key}`);
    const at = `${path}.${key}`;
    if (field.repeated) {
      if (!Array.isArray(value)) throw new FlowSchemaError(at, 'expected an array');
      if (value.length > 0) out[key] = value.map((v, i) => fieldValue(v, field, `${at}[${i}]`, asJson));
      continue;
    }
    // Messages and oneof members are always on the wire: one walk, in the form asked for.
    if (field.resolvedType instanceof protobuf.Type || field.partOf) {
      out[key] = fieldValue(value, field, at, asJson);
      continue;
    }
    // proto3 implicit presence: a scalar or enum at its default is not on the wire.
    const v = fieldValue(value, field, at, false);
    if (v !== 0 && v !== '' && v !== false) out[key] = asJson ? fieldValue(value, field, at, true) : v;
  }
  return out;
}

/** The canonical JSON of one GetFlowsResponse JSON object (checked; defaults left out). */
export function canonicalFlowJson(json: unknown): Plain {
  return messageFromJson(json, getFlowsResponseType(), 'GetFlowsResponse', true);
}

function fieldValue(value: unknown, field: protobuf.Field, at: string, asJson: boolean): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    if (t.fullName === TIMESTAMP) {
      const ts = timestamp(value, at);
      return asJson ? value : ts;
    }
    if (t.fullName === BOOL_VALUE) {
      if (typeof value !== 'boolean') throw new FlowSchemaError(at, 'expected true or false');
      return asJson ? value : value ? { value: true } : {};
    }
    return messageFromJson(value, t, at, asJson);
  }
  if (t instanceof protobuf.Enum) {
    if (typeof value === 'string') {
      const n = t.values[value];
      if (n === undefined) throw new FlowSchemaError(at, `${t.name} has no value ${value}`);
      return asJson ? value : n;
    }
    if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) {
      // protojson names a value the enum knows.
      return asJson ? t.valuesById[value] ?? value : value;
    }
    throw new FlowSchemaError(at, `expected a ${t.name} name or number`);
  }
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw new FlowSchemaError(at, 'expected a string');
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new FlowSchemaError(at, 'expected true or false');
      return value;
    case 'uint32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new FlowSchemaError(at, 'expected a uint32');
      return value;
    case 'int32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new FlowSchemaError(at, 'expected an int32');
      return value;
    default:
      throw new FlowSchemaError(at, `field type ${field.type} is not written by dpemu`);
  }
}

/** RFC 3339 with nanoseconds, as protojson writes google.protobuf.Timestamp (`timestamp` reads it back). */
export function rfc3339(sec: number, nsec: number): string {
  const iso = new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return `${iso}.${String(nsec).padStart(9, '0')}Z`;
}

/** google.protobuf.Timestamp's JSON form (RFC 3339, UTC, up to nanoseconds) to {seconds, nanos}. */
function timestamp(value: unknown, at: string): Plain {
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  const ms = m ? Date.parse(`${m[1]}Z`) : NaN;
  if (!m || Number.isNaN(ms)) throw new FlowSchemaError(at, 'expected an RFC 3339 UTC time (2006-01-02T15:04:05.999999999Z)');
  const out: Plain = {};
  const seconds = ms / 1000;
  const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
  if (seconds !== 0) out.seconds = seconds;
  if (nanos !== 0) out.nanos = nanos;
  return out;
}

/** One GetFlowsResponse JSON object (a `--json` line) as a length-delimited message. */
export function encodeFlowResponse(json: unknown): Uint8Array {
  const type = getFlowsResponseType();
  return type.encodeDelimited(type.fromObject(messageFromJson(json, type))).finish();
}

/**
 * The JSON objects back from a file of delimited messages, as protojson with proto names writes them
 * (enum names, Timestamp as RFC 3339, BoolValue bare, defaults left out).
 */
export function decodeFlowResponses(bytes: Uint8Array): Plain[] {
  const type = getFlowsResponseType();
  const reader = protobuf.Reader.create(bytes);
  const out: Plain[] = [];
  while (reader.pos < reader.len) out.push(messageToJson(type.decodeDelimited(reader), type));
  return out;
}

function messageToJson(msg: protobuf.Message, type: protobuf.Type): Plain {
  const out: Plain = {};
  const plain = msg as unknown as Plain;
  for (const field of type.fieldsArray) {
    const v = plain[field.name];
    if (v === undefined || v === null) continue;
    if (field.repeated) {
      const arr = v as unknown[];
      if (arr.length > 0) out[field.name] = arr.map((x) => valueToJson(x, field));
      continue;
    }
    // A decoded proto3 message has every scalar; only set ones (or oneof members) are written.
    if (!field.partOf && !(field.resolvedType instanceof protobuf.Type) && (v === 0 || v === '' || v === false)) continue;
    if (field.partOf && (plain as Plain)[field.partOf.name] !== field.name) continue;
    out[field.name] = valueToJson(v, field);
  }
  return out;
}

function valueToJson(v: unknown, field: protobuf.Field): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    const m = v as Plain;
    if (t.fullName === TIMESTAMP) return rfc3339(Number(m.seconds ?? 0), Number(m.nanos ?? 0));
    if (t.fullName === BOOL_VALUE) return Boolean(m.value);
    return messageToJson(v as protobuf.Message, t);
  }
  if (t instanceof protobuf.Enum) return t.valuesById[v as number] ?? v;
  if (typeof v === 'object' && v !== null && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return v;
}

/** `--flows-pb FILE`: the messages go through the capture writers' buffered FileSink, flushed after each vector. */
export class FlowPbFile {
  private readonly sink: FileSink;
  count = 0;

  constructor(readonly file: string) {
    try {
      this.sink = new FileSink(file);
    } catch (e) {
      throw new FlowFileError(file, e);
    }
  }

  add(json: unknown): void {
    const m = encodeFlowResponse(json);
    this.io(() => this.sink.write(m));
    this.count++;
  }

  flush(): void {
    this.io(() => this.sink.flush());
  }

  async close(): Promise<void> {
    try {
      await this.sink.close();
    } catch (e) {
      throw new FlowFileError(this.file, e);
    }
  }

  private io(op: () => void): void {
    try {
      op();
    } catch (e) {
      throw new FlowFileError(this.file, e);
    }
  }
}
