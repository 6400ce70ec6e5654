/**
 * The L7 HTTP proxy's decision (Envoy with Cilium's HTTP filter): the request line and headers of the first
 * TCP payload are matched against the port's rules (method/path/host as full-match regexes, headers by name or
 * name: value); any rule matching allows the request. A denied request is answered with Envoy's 403.
 */
import type { HttpRule } from './ir.js';

export interface HttpRequestHead {
  method: string;
  path: string;
  headers: Map<string, string>;
}

/** Parses `METHOD SP PATH SP HTTP/x.y CRLF (Name: value CRLF)*`; null when the payload is not an HTTP request head. */
export function parseHttpRequest(payload: Uint8Array): HttpRequestHead | null {
  const text = new TextDecoder('latin1').decode(payload);
  const end = text.indexOf('\r\n');
  const line = end < 0 ? text : text.slice(0, end);
  const m = /^([A-Z]+) (\S+) HTTP\/\d\.\d$/.exec(line);
  if (!m) return null;
  const headers = new Map<string, string>();
  if (end >= 0) {
    for (const h of text.slice(end + 2).split('\r\n')) {
      if (h === '') break;
      const c = h.indexOf(':');
      if (c > 0) headers.set(h.slice(0, c).trim().toLowerCase(), h.slice(c + 1).trim());
    }
  }
  return { method: m[1], path: m[2], headers };
}

export function matchHttp(rules: readonly HttpRule[], payload: Uint8Array): 'allow' | 'deny' {
  const req = parseHttpRequest(payload);
  if (!req) return 'deny'; // Envoy's HTTP codec rejects it; no rule can allow a non-HTTP stream
  for (const r of rules) {
    if (r.method && !r.method.test(req.method)) continue;
    if (r.path && !r.path.test(req.path)) continue;
    if (r.host && !r.host.test(req.headers.get('host') ?? '')) continue;
    if (r.headers.some((h) => (h.value === undefined ? !req.headers.has(h.name) : req.headers.get(h.name) !== h.value))) continue;
    return 'allow';
  }
  return 'deny';
}

/** RFC 7231 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
function imfDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/**
 * The response Envoy sends for a request Cilium's HTTP policy denies: 403 with the body "Access denied\r\n"
 * (15 bytes). `dateMs` is the replay clock (never the wall clock: output must be reproducible).
 */
export function buildHttp403(dateMs: number): Uint8Array {
  const body = 'Access denied\r\n';
  const head =
    'HTTP/1.1 403 Forbidden\r\n' +
    `content-length: ${body.length}\r\n` +
    'content-type: text/plain\r\n' +
    `date: ${imfDate(dateMs)}\r\n` +
    'server: envoy\r\n' +
    '\r\n';
  return new TextEncoder().encode(head + body);
}
