/**
 * NetworkPolicy (networking.k8s.io/v1) and CiliumNetworkPolicy (cilium.io/v2) specs, validated for structure only.
 * The policy compiler consumes these typed specs later. NetworkPolicy objects are strict, as the apiserver's field
 * validation is: every field of the API is listed, and a misspelt `from`/`ports` would otherwise leave a rule that
 * allows every peer or port.
 */
import { z } from 'zod';
import { parseCidr, cidrContains } from './ipv4.js';
import { cidr, labelSelector, port, portOrName } from './fields.js';

/**
 * Run a presence-only refinement even when sibling fields failed, so "endpointSelector is missing" is reported in
 * the same pass as a typo three lines below (zod skips refinements of invalid objects by default).
 */
export const ALWAYS_ON_OBJECTS = { when: (p: { value: unknown }) => typeof p.value === 'object' && p.value !== null };

const ipBlock = z
  .strictObject({ cidr, except: z.array(cidr).optional() }, { error: 'expected an ipBlock with cidr (and optional except)' })
  .superRefine((b, ctx) => {
    const outer = parseCidr(b.cidr);
    if (!outer) return;
    b.except?.forEach((e, i) => {
      const inner = parseCidr(e);
      if (inner && !(inner.prefix > outer.prefix && cidrContains(outer, inner.addr32))) {
        ctx.addIssue({ code: 'custom', path: ['except', i], message: `expected a CIDR strictly inside ${b.cidr}, got "${e}"` });
      }
    });
  });

const npPeer = z
  .strictObject({
    podSelector: labelSelector.optional(),
    namespaceSelector: labelSelector.optional(),
    ipBlock: ipBlock.optional(),
  })
  .superRefine((p, ctx) => {
    const sel = p.podSelector !== undefined || p.namespaceSelector !== undefined;
    if (p.ipBlock && sel) {
      ctx.addIssue({ code: 'custom', path: ['ipBlock'], message: 'expected ipBlock alone in a peer, not together with podSelector/namespaceSelector' });
    }
    if (!p.ipBlock && !sel) {
      ctx.addIssue({ code: 'custom', path: [], message: 'expected a peer with podSelector, namespaceSelector or ipBlock' });
    }
  }, ALWAYS_ON_OBJECTS);

const npPort = z
  .strictObject({
    protocol: z.enum(['TCP', 'UDP', 'SCTP'], { error: 'expected TCP, UDP or SCTP (upper case)' }).optional(),
    port: portOrName.optional(),
    endPort: port.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.endPort === undefined) return;
    if (typeof p.port !== 'number') {
      ctx.addIssue({ code: 'custom', path: ['endPort'], message: 'expected endPort only together with a numeric port' });
    } else if (p.endPort < p.port) {
      ctx.addIssue({ code: 'custom', path: ['endPort'], message: `expected endPort >= port ${p.port}, got ${p.endPort}` });
    }
  });

export const networkPolicySpec = z.strictObject({
  podSelector: labelSelector,
  policyTypes: z.array(z.enum(['Ingress', 'Egress'], { error: 'expected Ingress or Egress' })).optional(),
  ingress: z.array(z.strictObject({ from: z.array(npPeer).optional(), ports: z.array(npPort).optional() })).optional(),
  egress: z.array(z.strictObject({ to: z.array(npPeer).optional(), ports: z.array(npPort).optional() })).optional(),
});
export type NetworkPolicySpec = z.infer<typeof networkPolicySpec>;

const ciliumEntities = [
  'all', 'world', 'cluster', 'host', 'remote-node', 'kube-apiserver', 'ingress', 'health', 'init', 'unmanaged', 'none',
] as const;
const entity = z.enum(ciliumEntities, { error: `expected a Cilium entity: ${ciliumEntities.join(', ')}` });

/** Cilium writes ports as strings ("80"); YAML authors write both, so accept both and check the range. */
const CILIUM_PORT_TEXT = 'expected a port like "80" (0-65535 as number or string, or a port name)';
const ciliumPortNumber = z.union(
  [
    z.number().int({ error: CILIUM_PORT_TEXT }).min(0, { error: CILIUM_PORT_TEXT }).max(65535, { error: CILIUM_PORT_TEXT }),
    z.string().refine((t) => (/^\d{1,5}$/.test(t) ? Number(t) <= 65535 : /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(t)), {
      error: CILIUM_PORT_TEXT,
    }),
  ],
  { error: CILIUM_PORT_TEXT },
);

/**
 * CiliumNetworkPolicy objects are strict too, over every field of Cilium's v2 API (pkg/policy/api): the compiler
 * models some and warns about the others by name (policy/compile.ts); a key outside the API is a typo, which
 * would otherwise drop a peer list (`fromEndpoint:` leaves an L4-only rule that allows every peer).
 */
const ciliumPortRule = z.strictObject({
  ports: z
    .array(
      z.strictObject({
        port: ciliumPortNumber,
        endPort: port.optional(),
        protocol: z
          .enum(['TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPV6', 'ANY'], { error: 'expected TCP, UDP, SCTP, ICMP, ICMPV6 or ANY (Cilium\'s spelling)' })
          .optional(),
      }),
    )
    .optional(),
  rules: z.unknown().optional(),
  serverNames: z.array(z.string()).optional(),
  terminatingTLS: z.unknown().optional(),
  originatingTLS: z.unknown().optional(),
  listener: z.unknown().optional(),
});

/** Cilium's CIDRRule: a cidr, or a CiliumCIDRGroup by name or labels (warned and selecting nothing: policy/compile.ts). */
const cidrSet = z
  .strictObject({ cidr: cidr.optional(), except: z.array(cidr).optional(), cidrGroupRef: z.string().optional(), cidrGroupSelector: labelSelector.optional() })
  .refine((r) => [r.cidr, r.cidrGroupRef, r.cidrGroupSelector].filter((x) => x !== undefined).length === 1, { error: 'expected exactly one of cidr, cidrGroupRef or cidrGroupSelector' });

/** Fields Cilium has in every ingress/egress rule, not modeled by dpemu (compile.ts warns about each). */
const ciliumRuleExtras = { icmps: z.array(z.unknown()).optional(), authentication: z.unknown().optional() };

const ciliumIngress = z.strictObject({
  fromEndpoints: z.array(labelSelector).optional(),
  fromRequires: z.array(labelSelector).optional(),
  fromCIDR: z.array(cidr).optional(),
  fromCIDRSet: z.array(cidrSet).optional(),
  fromEntities: z.array(entity).optional(),
  fromGroups: z.array(z.unknown()).optional(),
  fromNodes: z.array(z.unknown()).optional(),
  toPorts: z.array(ciliumPortRule).optional(),
  ...ciliumRuleExtras,
});

const ciliumEgress = z.strictObject({
  toEndpoints: z.array(labelSelector).optional(),
  toRequires: z.array(labelSelector).optional(),
  toCIDR: z.array(cidr).optional(),
  toCIDRSet: z.array(cidrSet).optional(),
  toEntities: z.array(entity).optional(),
  toPorts: z.array(ciliumPortRule).optional(),
  toFQDNs: z.array(z.looseObject({ matchName: z.string().optional(), matchPattern: z.string().optional() })).optional(),
  toServices: z.array(z.unknown()).optional(),
  toGroups: z.array(z.unknown()).optional(),
  toNodes: z.array(z.unknown()).optional(),
  ...ciliumRuleExtras,
});

export const ciliumNetworkPolicySpec = z
  .strictObject({
    description: z.string().optional(),
    endpointSelector: labelSelector.optional(),
    nodeSelector: labelSelector.optional(),
    ingress: z.array(ciliumIngress).optional(),
    ingressDeny: z.array(ciliumIngress).optional(),
    egress: z.array(ciliumEgress).optional(),
    egressDeny: z.array(ciliumEgress).optional(),
    labels: z.array(z.unknown()).optional(),
    enableDefaultDeny: z.unknown().optional(),
    log: z.unknown().optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.endpointSelector === undefined) === (s.nodeSelector === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['endpointSelector'], message: 'expected exactly one of endpointSelector or nodeSelector' });
    }
  }, ALWAYS_ON_OBJECTS);
export type CiliumNetworkPolicySpec = z.infer<typeof ciliumNetworkPolicySpec>;
