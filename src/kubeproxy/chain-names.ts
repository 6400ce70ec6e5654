/**
 * kube-proxy's chain names: prefix + the first 16 characters of base32(sha256(...)), exactly as
 * pkg/proxy/iptables/proxier.go computes them (Go's base32.StdEncoding: RFC 4648, upper case, padded).
 */
import { createHash } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 with '=' padding (Go's base32.StdEncoding). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buf = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    buf = ((buf << 8) | bytes[i]) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buf >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buf << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

function hash16(text: string): string {
  return base32(createHash('sha256').update(text, 'utf8').digest()).slice(0, 16);
}

/** ServicePortName.String(): "ns/name:port", or "ns/name" when the port is unnamed. */
export function servicePortName(namespace: string, name: string, port: string): string {
  return port === '' ? `${namespace}/${name}` : `${namespace}/${name}:${port}`;
}

/** portProtoHash(servicePortName, protocol); protocol is lower case ("tcp"). */
export function portProtoHash(svcPortName: string, protocol: string): string {
  return hash16(svcPortName + protocol.toLowerCase());
}

export const svcChainName = (spn: string, proto: string): string => `KUBE-SVC-${portProtoHash(spn, proto)}`;
export const svlChainName = (spn: string, proto: string): string => `KUBE-SVL-${portProtoHash(spn, proto)}`;
export const extChainName = (spn: string, proto: string): string => `KUBE-EXT-${portProtoHash(spn, proto)}`;
export const fwChainName = (spn: string, proto: string): string => `KUBE-FW-${portProtoHash(spn, proto)}`;
/** KUBE-SEP- over servicePortName + protocol + "ip:port". */
export const sepChainName = (spn: string, proto: string, endpoint: string): string =>
  `KUBE-SEP-${hash16(spn + proto.toLowerCase() + endpoint)}`;
