/** Scenarios for the kube-proxy tests: the bundled default plus extra Services and Pods in YAML. */
import { readFileSync } from 'node:fs';
import { defaultScenarioPath, loadScenario } from '../../src/scenario/index.js';
import type { Cluster } from '../../src/scenario/model.js';

export function defaultCluster(): Cluster {
  return withExtra('');
}

export function withExtra(yamlDocs: string): Cluster {
  const base = { name: 'default', text: readFileSync(defaultScenarioPath(), 'utf8') };
  const sources = yamlDocs === '' ? [base] : [base, { name: 'extra.yaml', text: yamlDocs }];
  const r = loadScenario(sources);
  if (!r.ok) throw new Error(r.error.message);
  return r.cluster;
}

function pod(name: string, node: string, ip: string, app: string): string {
  return `---
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: default, labels: { app: ${app} } }
spec:
  nodeName: ${node}
  containers: [{ name: web, image: nginx, ports: [{ name: http, containerPort: 8080, protocol: TCP }] }]
status: { podIP: ${ip} }
`;
}

/** A NodePort Service with externalTrafficPolicy Local whose only endpoint is on node-2. */
export const NODEPORT_LOCAL = `${pod('web-0', 'node-2', '10.244.2.30', 'web')}---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  type: NodePort
  clusterIP: 10.96.7.7
  externalTrafficPolicy: Local
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP, nodePort: 30080 }]
`;

/** A LoadBalancer Service (Cluster policy) with an ingress IP and two endpoints. */
export const LOAD_BALANCER = `${pod('lb-0', 'node-2', '10.244.2.40', 'lb')}${pod('lb-1', 'node-3', '10.244.3.40', 'lb')}---
apiVersion: v1
kind: Service
metadata: { name: shop, namespace: default }
spec:
  type: LoadBalancer
  clusterIP: 10.96.8.8
  selector: { app: lb }
  ports: [{ name: https, port: 443, targetPort: 8080, protocol: TCP, nodePort: 31443 }]
status: { loadBalancer: { ingress: [{ ip: 192.0.2.10 }] } }
`;

/** ClientIP session affinity with the default timeout, over three endpoints. */
export const AFFINITY = `${pod('st-0', 'node-1', '10.244.1.20', 'sticky')}${pod('st-1', 'node-2', '10.244.2.20', 'sticky')}${pod('st-2', 'node-3', '10.244.3.20', 'sticky')}---
apiVersion: v1
kind: Service
metadata: { name: sticky, namespace: default }
spec:
  clusterIP: 10.96.9.9
  sessionAffinity: ClientIP
  selector: { app: sticky }
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
`;

/** Three endpoints, no affinity: probabilities 1/3, 1/2. */
export const THREE_ENDPOINTS = `${pod('tri-0', 'node-1', '10.244.1.31', 'tri')}${pod('tri-1', 'node-2', '10.244.2.31', 'tri')}${pod('tri-2', 'node-3', '10.244.3.31', 'tri')}---
apiVersion: v1
kind: Service
metadata: { name: tri, namespace: default }
spec:
  clusterIP: 10.96.3.3
  selector: { app: tri }
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
`;

/** Services whose selectors match nothing: TCP and UDP, one also a NodePort. */
export const NO_ENDPOINTS = `---
apiVersion: v1
kind: Service
metadata: { name: empty, namespace: default }
spec:
  type: NodePort
  clusterIP: 10.96.4.4
  selector: { app: nothing-here }
  ports:
    - { name: http, port: 80, targetPort: 8080, protocol: TCP, nodePort: 30404 }
    - { name: dns, port: 53, targetPort: 53, protocol: UDP, nodePort: 30053 }
`;

/**
 * kube-proxy's own test service ns2/svc2:p80 (proxier_test.go): a LoadBalancer with an external IP, an ingress IP
 * and loadBalancerSourceRanges, so its rules carry the hashes kube-proxy's expected output shows. The second range
 * holds node-1's address (allowFromNode); written with host bits, as kube-proxy's ParseCIDRSloppy takes it.
 */
export function lbFirewall(nodeRange = '10.0.1.5/30'): string {
  return `---
apiVersion: v1
kind: Namespace
metadata: { name: ns2 }
---
apiVersion: v1
kind: Pod
metadata: { name: fw-0, namespace: ns2, labels: { app: fw } }
spec: { nodeName: node-2, containers: [{ name: web, image: nginx }] }
status: { podIP: 10.244.2.50 }
---
apiVersion: v1
kind: Service
metadata: { name: svc2, namespace: ns2 }
spec:
  type: LoadBalancer
  clusterIP: 10.96.12.12
  externalIPs: [192.168.99.11]
  loadBalancerSourceRanges: [203.0.113.7/25, ${nodeRange}]
  selector: { app: fw }
  ports: [{ name: p80, port: 80, targetPort: 8080, protocol: TCP, nodePort: 30012 }]
status: { loadBalancer: { ingress: [{ ip: 1.2.3.4 }] } }
`;
}

/** A LoadBalancer with externalTrafficPolicy Local: the apiserver gives it a healthCheckNodePort (written or allocated). */
export function lbLocal(healthCheckNodePort?: number): string {
  return `${pod('hc-0', 'node-2', '10.244.2.60', 'hc')}---
apiVersion: v1
kind: Service
metadata: { name: hc, namespace: default }
spec:
  type: LoadBalancer
  clusterIP: 10.96.13.13
  externalTrafficPolicy: Local
${healthCheckNodePort === undefined ? '' : `  healthCheckNodePort: ${healthCheckNodePort}\n`}  selector: { app: hc }
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP, nodePort: 30013 }]
status: { loadBalancer: { ingress: [{ ip: 192.0.2.13 }] } }
`;
}
