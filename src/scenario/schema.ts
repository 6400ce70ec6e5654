/**
 * zod schemas for every object kind dpemu reads. The dpemu Cluster is strict (a misspelt field is an error, since
 * it would otherwise silently fall back to a default); Kubernetes objects are loose so course files with images,
 * resources, probes ... load unchanged.
 */
import { MAGLEV_TABLE_SIZES } from '../lb/maglev.js';
import { z } from 'zod';
import { cidr, intIn, ipv4, labelSelector, labels, mac, metadata, name, namespaceName, objectLabels, port, portName, portOrName, protocol, servicePortName } from './fields.js';
import { ALWAYS_ON_OBJECTS, ciliumNetworkPolicySpec, networkPolicySpec } from './policy-schema.js';

const seconds = intIn(1, 2147483647, 'a timeout in seconds');

export const conntrackTimeoutsSchema = z.strictObject({
  tcpSynSent: seconds.optional(),
  tcpSynRecv: seconds.optional(),
  tcpEstablished: seconds.optional(),
  tcpFinWait: seconds.optional(),
  tcpCloseWait: seconds.optional(),
  tcpLastAck: seconds.optional(),
  tcpTimeWait: seconds.optional(),
  tcpClose: seconds.optional(),
  tcpUnacknowledged: seconds.optional(),
  udp: seconds.optional(),
  udpStream: seconds.optional(),
  icmp: seconds.optional(),
  generic: seconds.optional(),
});

export const clusterSchema = z.looseObject({
  // Optional: the scenario name defaults to `cluster` (docs/scenario.md).
  metadata: z.looseObject({ name: name.optional() }).optional(),
  spec: z.strictObject({
    seed: intIn(0, 4294967295, 'a PRNG seed').optional(),
    serviceCIDR: cidr.optional(),
    nodes: z
      .array(
        z.strictObject({
          name,
          ip: ipv4.optional(),
          mac: mac.optional(),
          podCIDR: cidr.optional(),
          mtu: intIn(576, 65535, 'an MTU').optional(),
        }),
      )
      .optional(),
    tunnel: z
      .strictObject({
        mode: z.enum(['vxlan', 'native'], { error: 'expected vxlan or native' }).optional(),
        vni: intIn(0, 16777215, 'a 24-bit VNI').optional(),
        port: port.optional(),
        udpCsum: z.boolean({ error: 'expected true or false' }).optional(),
        deviceName: z
          .string()
          .regex(/^[^\s/]{1,15}$/, { error: 'expected a Linux interface name (1-15 characters, no "/" or spaces)' })
          .optional(),
        mtu: intIn(576, 65535, 'an MTU').optional(),
      })
      .optional(),
    kubeProxy: z
      .strictObject({
        mode: z.enum(['iptables', 'ipvs', 'ebpf'], { error: 'expected iptables, ipvs or ebpf' }).optional(),
        manages: z.boolean({ error: 'expected true or false' }).optional(),
        lbAlgorithm: z.enum(['random', 'maglev'], { error: 'expected random or maglev (Cilium bpf-lb-algorithm)' }).optional(),
        maglevTableSize: z
          .number({ error: `expected a prime from Cilium's list: ${MAGLEV_TABLE_SIZES.join(', ')}` })
          .int()
          .refine((v) => (MAGLEV_TABLE_SIZES as readonly number[]).includes(v), { error: `expected a prime from Cilium's list: ${MAGLEV_TABLE_SIZES.join(', ')}` })
          .optional(),
      })
      .optional(),
    // Cilium's bpf-ct-* agent flags (kube-proxy mode ebpf): conntrack map sizes and lifetimes in seconds.
    ebpf: z
      .strictObject({
        ctGlobalTcpMax: intIn(1024, 16777216, 'a map size (bpf-ct-global-tcp-max)').optional(),
        ctGlobalAnyMax: intIn(1024, 16777216, 'a map size (bpf-ct-global-any-max)').optional(),
        ctTimeoutRegularTcp: intIn(1, 2147483647, 'seconds (bpf-ct-timeout-regular-tcp)').optional(),
        ctTimeoutRegularTcpSyn: intIn(1, 2147483647, 'seconds (bpf-ct-timeout-regular-tcp-syn)').optional(),
        ctTimeoutRegularTcpFin: intIn(1, 2147483647, 'seconds (bpf-ct-timeout-regular-tcp-fin)').optional(),
        ctTimeoutRegularAny: intIn(1, 2147483647, 'seconds (bpf-ct-timeout-regular-any)').optional(),
        natGlobalMax: intIn(1024, 16777216, 'a map size (bpf-nat-global-max)').optional(),
        enableSctp: z.boolean({ error: 'expected true or false (Cilium enable-sctp)' }).optional(),
      })
      .optional(),
    capture: z.string({ error: 'expected the path of a pcap/pcapng file, relative to this scenario file' }).min(1).optional(),
    policy: z
      .strictObject({
        enforcement: z.enum(['default', 'always', 'never'], { error: 'expected default, always or never (Cilium policy-enforcement-mode)' }).optional(),
        audit: z.boolean({ error: 'expected true or false (Cilium policy-audit-mode)' }).optional(),
      })
      .optional(),
    conntrack: z
      .strictObject({
        max: intIn(1, 2147483647, 'a table size').optional(),
        timeouts: conntrackTimeoutsSchema.optional(),
      })
      .optional(),
  }),
});
export type ClusterDoc = z.infer<typeof clusterSchema>;

/** A Namespace's own name is a DNS label (no dots, at most 63 characters), as the names that refer to it. */
export const namespaceSchema = z.looseObject({ metadata: metadata.extend({ name: namespaceName }) });

export const nodeSchema = z.looseObject({
  metadata,
  spec: z.looseObject({ podCIDR: cidr.optional(), podCIDRs: z.array(cidr).optional() }).optional(),
  status: z
    .looseObject({
      addresses: z.array(z.looseObject({ type: z.string(), address: z.string() })).optional(),
    })
    .optional(),
});
export type NodeDoc = z.infer<typeof nodeSchema>;

/** The part of a Pod a workload's template repeats (`spec.template.spec`). */
const podSpec = z
    .looseObject({
      nodeName: name.optional(),
      hostNetwork: z.boolean().optional(),
      containers: z
        .array(
          z.looseObject({
            name: z.string().optional(),
            ports: z
              .array(z.looseObject({ name: portName.optional(), containerPort: port, protocol: protocol.optional() }))
              .optional(),
          }),
        )
        .optional(),
    })
    .superRefine((spec, ctx) => {
      // The apiserver refuses a port name used twice in one pod (across its containers): a Service's named
      // targetPort would have two meanings.
      const seen = new Map<string, string>();
      spec.containers?.forEach((c, i) => c.ports?.forEach((p, j) => {
        if (p.name === undefined) return;
        const first = seen.get(p.name);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['containers', i, 'ports', j, 'name'], message: `expected each port name once in a pod (${first} has it too)` });
        else seen.set(p.name, `containers[${i}].ports[${j}].name`);
      }));
    });

export const podSchema = z.looseObject({
  metadata,
  spec: podSpec.optional(),
  status: z
    .looseObject({
      podIP: ipv4.optional(),
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
    })
    .optional(),
});
export type PodDoc = z.infer<typeof podSchema>;

/** A pod template as controllers hold it: the labels their pods get and the pod spec. */
const podTemplate = z.looseObject(
  {
    metadata: z.looseObject({ labels: objectLabels.optional() }).optional(),
    spec: podSpec,
  },
  { error: 'expected a pod template with metadata.labels and spec (containers ...)' },
);
const replicas = intIn(0, 10_000, 'a replica count');

/** A controller's fields that make pods, with its kind's selector. */
function workloadSchema<S extends z.ZodType>(selector: S) {
  return z.looseObject({
    metadata,
    spec: z.looseObject({
      replicas: replicas.optional(),
      selector,
      template: podTemplate,
    }, { error: 'expected a spec with selector and template (the pods this workload makes)' }),
  });
}

/**
 * Deployment, ReplicaSet, StatefulSet, DaemonSet (apps/v1). apps/v1 requires spec.selector; whether it selects
 * the template's labels is checked when the pods are made (workloads.ts).
 */
export const appsWorkloadSchema = workloadSchema(labelSelector);
export type AppsWorkloadDoc = z.infer<typeof appsWorkloadSchema>;

/** ReplicationController (v1): its selector is a plain label map and defaults to the template's labels. */
export const replicationControllerSchema = workloadSchema(labels.optional());
export type ReplicationControllerDoc = z.infer<typeof replicationControllerSchema>;

const clusterIpText = 'expected an IPv4 address like 10.96.0.10, or "None" for a headless Service';
/** A Service's name is a DNS-1035 label (it becomes a DNS name): a letter first, at most 63 characters. */
const serviceName = z
  .string({ error: 'expected a Service name like "web"' })
  .regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    error: 'expected a Service name: a DNS-1035 label (a lower-case letter first, then letters, digits and "-", at most 63 characters), like "web"',
  });

export const serviceSchema = z.looseObject({
  metadata: metadata.extend({ name: serviceName }),
  spec: z.looseObject({
    type: z
      .enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'], {
        error: 'expected ClusterIP, NodePort, LoadBalancer or ExternalName',
      })
      .optional(),
    clusterIP: z.union([z.literal('None'), z.literal(''), ipv4], { error: clusterIpText }).optional(),
    loadBalancerIP: ipv4.optional(),
    /** Checked in resolve.ts: IPv4 is modelled, IPv6 skipped with a warning (dpemu is IPv4 only). */
    externalIPs: z.array(z.string()).nullish(),
    loadBalancerSourceRanges: z.array(z.string()).nullish(),
    healthCheckNodePort: port.optional(),
    ports: z
      .array(
        z.looseObject({
          name: servicePortName.optional(),
          port,
          targetPort: portOrName.optional(),
          protocol: protocol.optional(),
          nodePort: port.optional(),
        }),
      )
      .optional(),
    selector: objectLabels.optional(),
    sessionAffinity: z.enum(['None', 'ClientIP'], { error: 'expected None or ClientIP' }).optional(),
    sessionAffinityConfig: z
      .looseObject({
        clientIP: z.looseObject({ timeoutSeconds: intIn(1, 86400, 'a timeout in seconds').optional() }).optional(),
      })
      .optional(),
    externalTrafficPolicy: z.enum(['Cluster', 'Local'], { error: 'expected Cluster or Local' }).optional(),
    internalTrafficPolicy: z.enum(['Cluster', 'Local'], { error: 'expected Cluster or Local' }).optional(),
  }),
  status: z
    .looseObject({
      loadBalancer: z
        .looseObject({ ingress: z.array(z.looseObject({ ip: ipv4.optional(), hostname: z.string().optional() })).optional() })
        .optional(),
    })
    .optional(),
});
export type ServiceDoc = z.infer<typeof serviceSchema>;

const targetRef = z.looseObject({ kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() });
const endpointPort = z.looseObject({ name: z.string().optional(), port, protocol: protocol.optional() });

export const endpointSliceSchema = z.looseObject({
  metadata,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN'], { error: 'expected IPv4, IPv6 or FQDN' }),
  endpoints: z
    .array(
      z.looseObject({
        addresses: z.array(z.string()).min(1, { error: 'expected at least one address' }),
        conditions: z
          .looseObject({ ready: z.boolean().nullish(), serving: z.boolean().nullish(), terminating: z.boolean().nullish() })
          .optional(),
        nodeName: z.string().optional(),
        targetRef: targetRef.optional(),
      }),
    )
    .nullish(),
  ports: z.array(endpointPort.extend({ port: port.nullish() })).nullish(),
});
export type EndpointSliceDoc = z.infer<typeof endpointSliceSchema>;

const endpointsAddress = z.looseObject({ ip: ipv4, nodeName: z.string().optional(), targetRef: targetRef.optional() });
export const endpointsSchema = z.looseObject({
  metadata,
  subsets: z
    .array(
      z.looseObject({
        addresses: z.array(endpointsAddress).optional(),
        notReadyAddresses: z.array(endpointsAddress).optional(),
        ports: z.array(endpointPort).optional(),
      }),
    )
    .optional(),
});
export type EndpointsDoc = z.infer<typeof endpointsSchema>;

export const networkPolicySchema = z.looseObject({ metadata, spec: networkPolicySpec });
export type NetworkPolicyDoc = z.infer<typeof networkPolicySchema>;

export const ciliumNetworkPolicySchema = z
  .looseObject({ metadata, spec: ciliumNetworkPolicySpec.optional(), specs: z.array(ciliumNetworkPolicySpec).optional() })
  .superRefine((p, ctx) => {
    if (p.spec === undefined && (p.specs === undefined || p.specs.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['spec'], message: 'expected spec (or a non-empty specs list)' });
    }
  }, ALWAYS_ON_OBJECTS);
export type CiliumNetworkPolicyDoc = z.infer<typeof ciliumNetworkPolicySchema>;
