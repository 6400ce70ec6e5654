import { describe, expect, test } from 'vitest';
import { base32, sepChainName, servicePortName, svcChainName, svlChainName, extChainName } from '../../src/kubeproxy/index.js';

describe('kube-proxy chain names', () => {
  test('base32 is RFC 4648 (test vectors of section 10)', () => {
    const enc = (s: string) => base32(new TextEncoder().encode(s));
    expect(enc('')).toBe('');
    expect(enc('f')).toBe('MY======');
    expect(enc('fo')).toBe('MZXQ====');
    expect(enc('foo')).toBe('MZXW6===');
    expect(enc('foob')).toBe('MZXW6YQ=');
    expect(enc('fooba')).toBe('MZXW6YTB');
    expect(enc('foobar')).toBe('MZXW6YTBOI======');
  });

  test("kube-proxy's own fixtures", () => {
    expect(svcChainName('ns1/svc1:p80', 'tcp')).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(sepChainName('ns1/svc1:p80', 'tcp', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(svcChainName('kube-system/kube-dns:dns', 'udp')).toBe('KUBE-SVC-TCOU7JCQXEZGVUNU');
    // proxier_test.go: ns2/svc2:p80 has KUBE-SVC/EXT/SVL-GNZBNJ2PO5MGZ6GT; ns4/svc4:p80 endpoint 10.180.0.4:80.
    expect(extChainName('ns2/svc2:p80', 'tcp')).toBe('KUBE-EXT-GNZBNJ2PO5MGZ6GT');
    expect(svlChainName('ns2/svc2:p80', 'tcp')).toBe('KUBE-SVL-GNZBNJ2PO5MGZ6GT');
    expect(sepChainName('ns4/svc4:p80', 'tcp', '10.180.0.4:80')).toBe('KUBE-SEP-UKSFD7AGPMPPLUHC');
  });

  test('protocol is hashed lower case; unnamed ports have no colon', () => {
    expect(svcChainName('ns1/svc1:p80', 'TCP')).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(servicePortName('ns', 'svc', '')).toBe('ns/svc');
    expect(servicePortName('ns', 'svc', 'http')).toBe('ns/svc:http');
    expect(svcChainName('ns1/svc1:p80', 'udp')).not.toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
  });
});
