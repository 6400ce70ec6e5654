/**
 * Reusable zod field schemas. Every custom message starts with "expected ..." so the loader can print it
 * as written and add what it actually found ("got ...").
 */
import { z } from 'zod';
import { normalizeMac, parseCidr, parseIpv4 } from './ipv4.js';

const IPV4_TEXT = 'expected an IPv4 address like 10.0.1.5';
const CIDR_TEXT = 'expected an IPv4 CIDR like 10.244.1.0/24';

export const ipv4 = z.string({ error: IPV4_TEXT }).refine((s) => parseIpv4(s) !== null, { error: IPV4_TEXT });

/** Network CIDR with no host bits set: 10.244.1.5/24 is rejected because it is almost always a typo. */
export const cidr = z
  .string({ error: CIDR_TEXT })
  .refine((s) => parseCidr(s) !== null, { error: CIDR_TEXT + ' (network address, no host bits set)' });

export const mac = z
  .string({ error: 'expected a MAC address like 02:00:0a:00:01:05' })
  .refine((s) => normalizeMac(s) !== null, { error: 'expected a MAC address like 02:00:0a:00:01:05' });

export const port = z
  .number({ error: 'expected a port number 1-65535' })
  .int({ error: 'expected a port number 1-65535' })
  .min(1, { error: 'expected a port number 1-65535' })
  .max(65535, { error: 'expected a port number 1-65535' });

export function intIn(min: number, max: number, what: string) {
  const text = `expected ${what} (an integer ${min}-${max})`;
  return z.number({ error: text }).int({ error: text }).min(min, { error: text }).max(max, { error: text });
}

export const protocol = z.enum(['TCP', 'UDP', 'SCTP'], { error: 'expected TCP, UDP or SCTP (upper case)' });

/** A quoted number where a port goes: the apiserver takes "8080" for a port *name* and rejects it (no letter). */
const QUOTED_PORT_TEXT = 'expected a port number without quotes (8080), or a port name with at least one letter like "http"';

/**
 * IANA_SVC_NAME as Kubernetes validates port names (validation.IsValidPortName): lower case alphanumerics and '-',
 * at most 15 characters, at least one letter, no "--". Without the letter rule a quoted `targetPort: "8080"` loaded
 * as a name no container defines: a warning and a REJECT, where kubectl apply refuses the object.
 */
function ianaPortName(noLetterText: string) {
  return z
    .string({ error: 'expected a port name like "http"' })
    .regex(/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/, {
      error: 'expected a port name of lower-case letters, digits and "-", at most 15 characters, like "http"',
    })
    .refine((s) => /[a-z]/.test(s), { error: noLetterText })
    .refine((s) => !s.includes('--'), { error: 'expected a port name without "--" (IANA_SVC_NAME), like "http-alt"' });
}

export const portName = ianaPortName('expected a port name with at least one letter (IANA_SVC_NAME), like "http"');

/** A DNS-1123 label (IsDNS1123Label): lower-case letters, digits and "-", at most 63 characters. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * A Service port's name: a DNS-1123 label (ServicePort "must be a DNS_LABEL", up to 63 characters;
 * kubernetes.io's own example is "name-of-service-port"). The 15-character IANA_SVC_NAME limit of
 * `portName` is for container ports and the names targetPort refers to.
 */
export const servicePortName = z
  .string({ error: 'expected a port name like "http"' })
  .regex(DNS_LABEL, {
    error: 'expected a Service port name: a DNS label of lower-case letters, digits and "-", at most 63 characters, like "http"',
  });

/** targetPort / NetworkPolicy port: a number or a container port name. */
export const portOrName = z.union([port, ianaPortName(QUOTED_PORT_TEXT)], { error: 'expected a port number 1-65535 or a port name like "http"' });

export const name = z
  .string({ error: 'expected a name like "web-1"' })
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    error: 'expected a lower-case DNS name like "web-1" (letters, digits, "-" and ".")',
  })
  .max(253, { error: 'expected a name of at most 253 characters (a DNS subdomain, as the apiserver requires)' });

/** metadata.namespace: a DNS-1123 label (the apiserver's namespace names: no dots, at most 63 characters). */
export const namespaceName = z
  .string({ error: 'expected a namespace name like "shop"' })
  .regex(DNS_LABEL, {
    error: 'expected a namespace name: a DNS label of lower-case letters, digits and "-", at most 63 characters, like "shop"',
  });

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is refused (apimachinery's IsQualifiedName), or null. */
export function labelKeyProblem(key: string): string | null {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? null : key.slice(0, slash);
  const nm = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== null && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `its prefix "${prefix}" must be a lower-case DNS subdomain of at most 253 characters`;
  if (nm.length > 63 || !QUALIFIED_NAME.test(nm)) return `its name "${nm}" must be at most 63 characters of letters, digits, "-", "_" and ".", starting and ending with a letter or digit`;
  return null;
}

/** Why a label value is refused (IsValidLabelValue: empty, or a qualified name part of at most 63 characters), or null. */
export function labelValueProblem(value: string): string | null {
  if (value === '' || (value.length <= 63 && QUALIFIED_NAME.test(value))) return null;
  return 'expected at most 63 characters of letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or empty)';
}

export const labels = z.record(z.string(), z.string({ error: 'expected a string label value (quote it, e.g. "true")' }), {
  error: 'expected a map of labels like {app: web}',
});

/** An object's own labels (and a Service's selector), checked as the apiserver's ValidateLabels does. */
export const objectLabels = labels.superRefine((m, ctx) => {
  for (const [k, v] of Object.entries(m)) {
    const kp = labelKeyProblem(k);
    if (kp) ctx.addIssue({ code: 'custom', path: [k], message: `expected a label key like "app" or "example.com/tier": ${kp}` });
    const vp = labelValueProblem(v);
    if (vp) ctx.addIssue({ code: 'custom', path: [k], message: `${vp}, got ${JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v)}` });
  }
});

export const metadata = z.looseObject(
  {
    name,
    namespace: namespaceName.optional(),
    labels: objectLabels.optional(),
  },
  { error: 'expected a metadata mapping with at least a name' },
);

export const labelSelectorRequirement = z
  .looseObject({
    key: z.string({ error: 'expected a label key' }),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist'], {
      error: 'expected one of In, NotIn, Exists, DoesNotExist',
    }),
    values: z.array(z.string({ error: 'expected a string value' })).optional(),
  })
  .superRefine((r, ctx) => {
    const n = r.values?.length ?? 0;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `expected at least one value for operator ${r.operator}` });
    }
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `expected no values for operator ${r.operator}` });
    }
  });

// Strict, as the apiserver's field validation is: a misspelt key (`matchLabel`) would otherwise leave
// `{}`, which selects every pod, so a policy typo would silently isolate the whole namespace.
export const labelSelector = z.strictObject(
  {
    matchLabels: labels.optional(),
    matchExpressions: z.array(labelSelectorRequirement).optional(),
  },
  { error: 'expected a label selector with matchLabels and/or matchExpressions ({} selects everything)' },
);

export type LabelSelector = z.infer<typeof labelSelector>;
