import { describe, expect, it } from 'vitest';
import { loadScenario, loadScenarioText } from '../../src/scenario/index.js';
import { ok } from './helpers.js';

/** The shape of a course lab file: a Deployment and a ConfigMap next to the objects dpemu models. */
const COURSE = `apiVersion: v1
kind: Node
metadata: {name: worker-1}
spec: {podCIDR: 10.244.1.0/24}
status:
  addresses:
    - {type: InternalIP, address: 172.18.0.3}
    - {type: Hostname, address: worker-1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
          ports: [{containerPort: 80, name: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {index.html: hello}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9c-abcde
  labels: {app: web, pod-template-hash: 7d4b9c}
spec:
  nodeName: worker-1
  containers:
    - name: nginx
      image: nginx:1.27
      resources: {limits: {cpu: 100m}}
      readinessProbe: {httpGet: {path: /, port: 80}}
      ports: [{containerPort: 80, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http, nodePort: 30080}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
  externalTrafficPolicy: Local
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-allow-frontend}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from:
        - podSelector:
            matchExpressions:
              - {key: role, operator: In, values: [frontend, gateway]}
          namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}
        - ipBlock: {cidr: 10.0.0.0/8, except: [10.9.0.0/16]}
      ports:
        - {protocol: TCP, port: http}
        - {protocol: TCP, port: 8000, endPort: 8100}
  egress:
    - to: [{namespaceSelector: {}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-l4}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromEndpoints:
        - matchLabels: {k8s:io.kubernetes.pod.namespace: default, role: frontend}
      fromEntities: [cluster]
      toPorts:
        - ports: [{port: "80", protocol: TCP}]
          rules: {http: [{method: GET, path: /}]}
  egress:
    - toCIDRSet: [{cidr: 0.0.0.0/0, except: [169.254.169.254/32]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {hostNetwork: true, containers: [{name: agent, image: agent:1}]}
`;

describe('course-style files', () => {
  it('load with the ConfigMap skipped and the workloads making their pods, one warning line each', () => {
    const r = loadScenarioText(COURSE, 'lab3.yaml');
    const c = ok(r);
    // The written Pod matches the Deployment's selector: it is one of the two replicas (as the ReplicaSet
    // controller adopts it); the hostNetwork DaemonSet's pods would be the node itself.
    expect(r.warnings).toEqual([
      'lab3.yaml:doc 3: skipped v1 ConfigMap "web-config": dpemu does not model this kind',
      'lab3.yaml:doc 8: DaemonSet default/agent makes no pods here: hostNetwork pods are the node itself in dpemu',
      'lab3.yaml:doc 2: Deployment default/web made 1 Pod(s): web-589ccc5944-htmhf on worker-1; already in the files: web-7d4b9c-abcde',
    ]);
    // Addresses go by namespace/name, written and made pods alike.
    expect(c.pods.map((p) => [p.name, p.ip, p.nodeName, p.labels])).toEqual([
      ['web-589ccc5944-htmhf', '10.244.1.2', 'worker-1', { app: 'web', 'pod-template-hash': '589ccc5944' }],
      ['web-7d4b9c-abcde', '10.244.1.3', 'worker-1', { app: 'web', 'pod-template-hash': '7d4b9c' }],
    ]);
    expect(c.endpointSlices[0].endpoints.map((e) => e.podName)).toEqual(['web-589ccc5944-htmhf', 'web-7d4b9c-abcde']);
    expect(c.warnings).toEqual(r.warnings);
    // no Cluster document: defaults, the node from the Node object
    expect(c.name).toBe('cluster');
    expect(c.nodes.map((n) => [n.name, n.ip, n.mac, n.vtepIp])).toEqual([['worker-1', '172.18.0.3', '02:00:ac:12:00:03', '10.244.1.0']]);
    const svc = c.services[0];
    expect(svc).toMatchObject({
      type: 'NodePort',
      clusterIp: '10.96.0.2',
      sessionAffinity: 'ClientIP',
      sessionAffinityTimeoutSeconds: 600,
      externalTrafficPolicy: 'Local',
      internalTrafficPolicy: 'Cluster',
    });
    expect(svc.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 }]);
    expect(c.endpointSlices[0].ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);

    expect(c.networkPolicies).toHaveLength(1);
    const np = c.networkPolicies[0];
    expect(np.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress?.[0].from?.[1].ipBlock).toEqual({ cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] });
    expect(np.spec.ingress?.[0].ports?.[1]).toEqual({ protocol: 'TCP', port: 8000, endPort: 8100 });
    expect(c.ciliumNetworkPolicies).toHaveLength(1);
    const cnp = c.ciliumNetworkPolicies[0];
    expect(cnp.specs).toHaveLength(1);
    expect(cnp.specs[0].ingress?.[0].fromEntities).toEqual(['cluster']);
    expect(cnp.specs[0].ingress?.[0].toPorts?.[0].rules).toEqual({ http: [{ method: 'GET', path: '/' }] });
  });

  it('rejects malformed policies with precise paths', () => {
    const text = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector:
    matchExpressions:
      - {key: app, operator: In}
      - {key: tier, operator: Exists, values: [x]}
      - {key: env, operator: Equals, values: [x]}
  policyTypes: [Ingress, Sideways]
  ingress:
    - from:
        - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}
          podSelector: {}
      ports:
        - {port: http, endPort: 90}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: cnp}
spec:
  ingress:
    - fromEntities: [wrld]
      fromCIDR: [10.0.0.1/8]
      toPorts: [{ports: [{port: "70000"}, {port: "8080", protocol: tcp}]}]
`;
    const r = loadScenario([{ name: 'pol.yaml', text }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.doc}:${p.line} ${p.path}: ${p.message}`)).toEqual([
      '1:7 spec.podSelector.matchExpressions[0].values: missing; expected at least one value for operator In',
      '1:8 spec.podSelector.matchExpressions[1].values: expected no values for operator Exists, got a list',
      '1:9 spec.podSelector.matchExpressions[2].operator: expected one of In, NotIn, Exists, DoesNotExist, got "Equals"',
      '1:10 spec.policyTypes[1]: expected Ingress or Egress, got "Sideways"',
      '1:13 spec.ingress[0].from[0].ipBlock.except[0]: expected a CIDR strictly inside 10.0.0.0/8, got "192.168.0.0/16"',
      '1:13 spec.ingress[0].from[0].ipBlock: expected ipBlock alone in a peer, not together with podSelector/namespaceSelector, got a mapping',
      '1:16 spec.ingress[0].ports[0].endPort: expected endPort only together with a numeric port, got 90',
      // spec has no endpointSelector line, so the spec mapping's first line is shown
      '2:22 spec.endpointSelector: missing; expected exactly one of endpointSelector or nodeSelector',
      '2:23 spec.ingress[0].fromEntities[0]: expected a Cilium entity: all, world, cluster, host, remote-node, kube-apiserver, ingress, health, init, unmanaged, none, got "wrld"',
      '2:24 spec.ingress[0].fromCIDR[0]: expected an IPv4 CIDR like 10.244.1.0/24 (network address, no host bits set), got "10.0.0.1/8"',
      '2:25 spec.ingress[0].toPorts[0].ports[0].port: expected a port like "80" (0-65535 as number or string, or a port name), got "70000"',
      '2:25 spec.ingress[0].toPorts[0].ports[1].protocol: expected TCP, UDP, SCTP, ICMP, ICMPV6 or ANY (Cilium\'s spelling), got "tcp"',
    ]);
  });
});

describe('kubectl get -o yaml output (kind: List)', () => {
  const list = (badIp: string) => `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: a, namespace: default, labels: {app: a}}
    spec: {nodeName: n1}
    status: {podIP: ${badIp}}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: a-rs, namespace: default}
    spec:
      replicas: 1
      selector: {matchLabels: {app: a}}
      template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c}]}}
  - apiVersion: batch/v1
    kind: Job
    metadata: {name: migrate}
`;
  const nodes = 'apiVersion: dpemu.dev/v1\nkind: Cluster\nmetadata: {name: l}\nspec:\n  nodes: [{name: n1, ip: 10.0.0.1, podCIDR: 10.244.1.0/24}]\n';

  it('loads every item as an object and skips unmodelled items with their position', () => {
    const r = loadScenario([{ name: 'nodes.yaml', text: nodes }, { name: 'get.yaml', text: list('10.244.1.9') }]);
    const c = ok(r);
    expect(c.pods.map((p) => p.ip)).toEqual(['10.244.1.9']);
    // `kubectl get all -o yaml`: the ReplicaSet's pod is in the list, so it makes none.
    expect(r.warnings).toEqual([
      'get.yaml:doc 1 items[2]: skipped batch/v1 Job "migrate": dpemu does not model this kind; its pods run to completion and are not part of the data path (write a kind: Pod to replay one)',
      'get.yaml:doc 1 items[1]: ReplicaSet default/a-rs made 0 Pod(s); already in the files: a',
    ]);
  });

  it('names the item in every warning about a List item, not only in skips of unmodelled kinds', () => {
    const items = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: host-agent}
    spec: {hostNetwork: true, nodeName: n1}
  - apiVersion: v1
    kind: Service
    metadata: {name: ext}
    spec: {type: ExternalName, externalName: example.com}
  - apiVersion: v1
    kind: Pod
    metadata: {name: dup, namespace: default}
    spec: {nodeName: n1}
  - apiVersion: v1
    kind: Pod
    metadata: {name: dup, namespace: default}
    spec: {nodeName: n1}
`;
    const r = loadScenario([{ name: 'nodes.yaml', text: nodes }, { name: 'get.yaml', text: items }]);
    expect(r.warnings).toContain('get.yaml:doc 1 items[0]: skipped Pod "default/host-agent": hostNetwork pods are the node itself in dpemu');
    expect(r.warnings).toContain('get.yaml:doc 1 items[1]: skipped ExternalName Service "default/ext": it is DNS only, no data path');
    // Both pods are in document 1: only the item tells the user which one came first.
    expect(r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'items[3].metadata.name: expected each Pod once, but default/dup is already defined at get.yaml:doc 1 items[2]',
    ]);
  });

  it('a List without items holds nothing (an empty kubectl get); items that are not a list are a problem at items', () => {
    const empty = loadScenario([{ name: 'nodes.yaml', text: nodes }, { name: 'get.yaml', text: 'apiVersion: v1\nkind: List\nmetadata: {}\n' }]);
    expect(ok(empty).pods).toEqual([]);
    expect(empty.warnings).toEqual([]);
    const bad = loadScenario([{ name: 'nodes.yaml', text: nodes }, { name: 'get.yaml', text: 'apiVersion: v1\nkind: List\nitems: {kind: Pod}\n' }]);
    expect(bad.ok ? [] : bad.problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['items: expected a list of objects, got a mapping']);
  });

  it('names items in problem paths', () => {
    const r = loadScenario([{ name: 'nodes.yaml', text: nodes }, { name: 'get.yaml', text: list('10.9.9.9') }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      {
        file: 'get.yaml', doc: 1, line: 8, path: 'items[0].status.podIP',
        message: 'expected an address inside n1\'s pod CIDR 10.244.1.0/24, got "10.9.9.9"',
      },
    ]);
    const bad = loadScenario([{ name: 'nodes.yaml', text: nodes }, { name: 'get.yaml', text: list('nope') }]);
    expect(bad.ok ? [] : bad.problems.map((p) => `${p.line} ${p.path}`)).toEqual(['8 items[0].status.podIP']);
  });
});

describe('what kubectl accepts and course files contain', () => {
  const node = 'apiVersion: v1\nkind: Node\nmetadata: {name: worker-1}\nspec: {podCIDR: 10.244.1.0/24}\nstatus:\n  addresses: [{type: InternalIP, address: 172.18.0.3}]\n';
  it('a Service port name is a DNS label of up to 63 characters (kubernetes.io\'s own "name-of-service-port")', () => {
    const svc = (portName: string) => `${node}---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports:\n    - {name: ${portName}, port: 80, targetPort: http-web-svc}\n`;
    const c = ok(loadScenarioText(svc('name-of-service-port'), 'svc.yaml'));
    expect(c.services[0]!.ports[0]).toMatchObject({ name: 'name-of-service-port', targetPort: 'http-web-svc' });
    expect(loadScenarioText(svc('a'.repeat(63)), 'svc.yaml').ok).toBe(true);
    const long = loadScenarioText(svc('a'.repeat(64)), 'svc.yaml');
    expect(long.ok).toBe(false);
    if (!long.ok) expect(long.error.message).toMatch(/spec\.ports\[0\]\.name: expected a Service port name: a DNS label .* at most 63 characters/);
    const upper = loadScenarioText(svc('Http'), 'svc.yaml');
    expect(upper.ok).toBe(false);
  });

  it('skips empty documents (only comments, or --- right after ---) as kubectl apply does', () => {
    const text = `# lab 4\n---\n# the nodes\n---\n---\n${node}---\n# end\n`;
    const r = loadScenarioText(text, 'lab4.yaml');
    const c = ok(r);
    expect(c.nodes.map((n) => n.name)).toEqual(['worker-1']);
    expect(r.warnings).toEqual([]);
  });

  it('loads a CiliumClusterwideNetworkPolicy as a policy of no namespace (enforcement: test/policy fixture clusterwide)', () => {
    const text = `${node}---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: only-client}\nspec:\n  endpointSelector: {matchLabels: {app: svc}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]\n`;
    const r = loadScenarioText(text, 'ccnp.yaml');
    const c = ok(r);
    expect(r.warnings).toEqual([]);
    expect(c.ciliumNetworkPolicies.map((p) => [p.namespace, p.name, p.specs.length])).toEqual([['', 'only-client', 1]]);
  });
});
