import { describe, expect, it } from 'vitest';
import { endpointsForService, loadScenarioText, serviceByName } from '../../src/scenario/index.js';
import { TWO_NODES, ok } from './helpers.js';

const pod = (name: string, node: string, ip: string, labels: string, ports: string) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {${labels}}}
spec:
  nodeName: ${node}
  containers:
    - name: c
      ports: [${ports}]
status: {podIP: ${ip}}
`;

describe('endpoint derivation from selectors', () => {
  it('resolves named targetPorts per pod and groups pods with the same resolved ports, as the EndpointSlice controller does', () => {
    const text =
      TWO_NODES +
      pod('web-1', 'n1', '10.244.1.10', 'app: web', '{name: http, containerPort: 8080}') +
      pod('web-2', 'n2', '10.244.2.10', 'app: web', '{name: http, containerPort: 9090}') +
      pod('web-3', 'n2', '10.244.2.11', 'app: web, extra: "yes"', '{name: http, containerPort: 8080}') +
      pod('other', 'n1', '10.244.1.11', 'app: other', '{name: http, containerPort: 8080}') +
      `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;
    const c = ok(loadScenarioText(text, 'ep.yaml'));
    expect(c.warnings).toEqual([]);
    const eps = endpointsForService(c, 'default', 'web');
    expect(eps.map((e) => [e.name, e.source, e.ports, e.endpoints.map((x) => `${x.podName}@${x.nodeName}=${x.ip}`)])).toEqual([
      ['web-derived-0', 'derived', [{ name: 'http', port: 8080, protocol: 'TCP' }], ['web-1@n1=10.244.1.10', 'web-3@n2=10.244.2.11']],
      ['web-derived-1', 'derived', [{ name: 'http', port: 9090, protocol: 'TCP' }], ['web-2@n2=10.244.2.10']],
    ]);
    expect(serviceByName(c, 'default', 'web')?.ports[0].targetPort).toBe('http');
  });

  it('warns (does not fail) when the selector matches nothing or a named port is defined by no pod', () => {
    const text =
      TWO_NODES +
      pod('web-1', 'n1', '10.244.1.10', 'app: web', '{name: http, containerPort: 8080}') +
      `---
apiVersion: v1
kind: Service
metadata: {name: lonely}
spec:
  clusterIP: 10.96.0.50
  selector: {app: nothing}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.51
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {name: metrics, port: 9100, targetPort: metrics}]
`;
    const c = ok(loadScenarioText(text, 'w.yaml'));
    expect(c.warnings).toEqual([
      'w.yaml:doc 3: Service "default/lonely" selector app=nothing matches no pod; traffic to 10.96.0.50 will be REJECTed like kube-proxy does (once routed: a node without a route to it drops it FIB_LOOKUP_FAILED first)',
      'w.yaml:doc 4: Service "default/web" port metrics: targetPort "metrics" is not a TCP container port of any selected pod; traffic to 10.96.0.51:9100 will be REJECTed like kube-proxy does (once routed: a node without a route to it drops it FIB_LOOKUP_FAILED first)',
    ]);
    expect(endpointsForService(c, 'default', 'lonely')).toEqual([]);
    const web = endpointsForService(c, 'default', 'web');
    expect(web).toHaveLength(1);
    expect(web[0].ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });

  it('only selects pods of the Service namespace, and a numeric targetPort needs no container port', () => {
    const text =
      TWO_NODES +
      `---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: prod, labels: {app: web}}
spec: {nodeName: n1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: default, labels: {app: web}}
spec: {nodeName: n2}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
`;
    const c = ok(loadScenarioText(text, 'ns.yaml'));
    const eps = endpointsForService(c, 'prod', 'web');
    expect(eps).toHaveLength(1);
    expect(eps[0].endpoints.map((e) => [e.podName, e.ip])).toEqual([['a', '10.244.1.2']]);
    expect(eps[0].ports).toEqual([{ name: '', port: 8080, protocol: 'TCP' }]);
    expect(c.namespaces.map((n) => n.name)).toEqual(['default', 'prod']);
  });

  it('uses written EndpointSlice and Endpoints objects instead of deriving', () => {
    const text =
      TWO_NODES +
      pod('web-1', 'n1', '10.244.1.10', 'app: web', '{name: http, containerPort: 8080}') +
      `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - addresses: [10.244.1.10]
    conditions: {ready: true}
  - addresses: [10.244.2.77]
    conditions: {ready: false}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  ports: [{port: 443}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext}
subsets:
  - addresses: [{ip: 192.168.7.7}]
    ports: [{port: 8443}]
`;
    const c = ok(loadScenarioText(text, 'es.yaml'));
    expect(c.warnings).toEqual([]);
    const web = endpointsForService(c, 'default', 'web');
    expect(web.map((e) => [e.name, e.source])).toEqual([['web-abcde', 'EndpointSlice']]);
    expect(web[0].endpoints).toEqual([
      { ip: '10.244.1.10', ip32: 0x0af4010a, nodeName: 'n1', podName: 'web-1', ready: true, serving: true, terminating: false },
      // not a known pod, but inside n2's pod CIDR
      { ip: '10.244.2.77', ip32: 0x0af4024d, nodeName: 'n2', podName: '', ready: false, serving: true, terminating: false },
    ]);
    const ext = endpointsForService(c, 'default', 'ext');
    expect(ext.map((e) => [e.source, e.ports, e.endpoints.map((x) => [x.ip, x.nodeName])])).toEqual([
      ['Endpoints', [{ name: '', port: 8443, protocol: 'TCP' }], [['192.168.7.7', '']]],
    ]);
  });
});

describe('allocation', () => {
  it('allocates pod IPs from .2 of the node CIDR in namespace/name order, skipping taken ones', () => {
    const text =
      TWO_NODES +
      ['zed', 'alpha', 'mid'].map((n) => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${n}}\nspec: {nodeName: n1}\n`).join('') +
      `---\napiVersion: v1\nkind: Pod\nmetadata: {name: fixed}\nspec: {nodeName: n1}\nstatus: {podIP: 10.244.1.3}\n` +
      `---\napiVersion: v1\nkind: Pod\nmetadata: {name: aaa, namespace: z-ns}\nspec: {nodeName: n1}\n`;
    const c = ok(loadScenarioText(text, 'a.yaml'));
    const ips = Object.fromEntries(c.pods.map((p) => [`${p.namespace}/${p.name}`, [p.ip, p.ipAllocated, p.mac]]));
    expect(ips).toEqual({
      'default/alpha': ['10.244.1.2', true, '0a:58:0a:f4:01:02'],
      'default/fixed': ['10.244.1.3', false, '0a:58:0a:f4:01:03'],
      'default/mid': ['10.244.1.4', true, '0a:58:0a:f4:01:04'],
      'default/zed': ['10.244.1.5', true, '0a:58:0a:f4:01:05'],
      'z-ns/aaa': ['10.244.1.6', true, '0a:58:0a:f4:01:06'],
    });
  });

  it('puts a pod without nodeName on the only node', () => {
    const text = `apiVersion: dpemu.dev/v1\nkind: Cluster\nmetadata: {name: one}\nspec:\n  nodes: [{name: solo, ip: 192.168.0.10, podCIDR: 10.1.0.0/16}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n`;
    const c = ok(loadScenarioText(text));
    expect(c.pods.map((p) => [p.nodeName, p.ip])).toEqual([['solo', '10.1.0.2']]);
  });

  it('allocates ClusterIPs and NodePorts in namespace/name order, skipping 10.96.0.10 and taken ones', () => {
    const svc = (ns: string, name: string, extra: string) =>
      `---\napiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  ports: [{port: 80}]\n${extra}`;
    const text =
      TWO_NODES +
      svc('default', 'b', '') +
      svc('default', 'a', '  clusterIP: 10.96.0.3\n') +
      svc('default', 'c', '  type: NodePort\n') +
      svc('kube-system', 'd', '  type: LoadBalancer\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.9}]}}\n') +
      svc('default', 'h', '  clusterIP: None\n') +
      ['e', 'f', 'g', 'i', 'j', 'k', 'l'].map((n) => svc('x', n, '')).join('');
    const c = ok(loadScenarioText(text, 's.yaml'));
    const got = c.services.map((s) => `${s.namespace}/${s.name}=${s.clusterIp}${s.ports[0].nodePort ? `:${s.ports[0].nodePort}` : ''}`);
    expect(got).toEqual([
      'default/a=10.96.0.3',
      'default/b=10.96.0.2',
      'default/c=10.96.0.4:30000',
      'default/h=null',
      'kube-system/d=10.96.0.5:30001',
      'x/e=10.96.0.6',
      'x/f=10.96.0.7',
      'x/g=10.96.0.8',
      'x/i=10.96.0.9',
      'x/j=10.96.0.11',
      'x/k=10.96.0.12',
      'x/l=10.96.0.13',
    ]);
    expect(c.services.find((s) => s.name === 'd')!.loadBalancerIps).toEqual(['203.0.113.9']);
  });
});

describe('written EndpointSlices pair with Service ports by name and protocol, as kube-proxy does', () => {
  const slice = (svc: string, ports: string) => `---
apiVersion: v1
kind: Service
metadata: {name: ${svc}}
spec:
  ports: [{protocol: TCP, port: 80, targetPort: 9376}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${svc}-1, labels: {kubernetes.io/service-name: ${svc}}}
addressType: IPv4
${ports}
endpoints: [{addresses: ["10.244.2.10"]}]
`;

  it("kubernetes.io's example (port name '') gets its endpoints; a slice port named otherwise, or none, is a warning naming both", () => {
    const text = TWO_NODES + slice('docs', "ports: [{name: '', appProtocol: http, protocol: TCP, port: 9376}]") + slice('named', 'ports: [{name: http, protocol: TCP, port: 9376}]') + slice('portless', '');
    const r = loadScenarioText(text, 'eps.yaml');
    if (!r.ok) throw r.error;
    // Silent before: the Service got no endpoints and traffic was REJECTed with no hint why.
    const w = r.warnings.filter((x) => x.includes('matches no port'));
    expect(w).toEqual([
      expect.stringContaining('Service "default/named" port 80/TCP (name "") matches no port of its EndpointSlices/Endpoints ("http" 9376/TCP)'),
      expect.stringContaining('Service "default/portless" port 80/TCP (name "") matches no port of its EndpointSlices/Endpoints (no ports)'),
    ]);
    expect(endpointsForService(r.cluster, 'default', 'docs')[0].ports).toEqual([{ name: '', port: 9376, protocol: 'TCP' }]);
  });
});
