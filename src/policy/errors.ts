import { DpemuError } from '../util/errors.js';

/**
 * Stable codes for policy problems. A diagnostic names the object (`NetworkPolicy ns/name`), the field path
 * (`spec.ingress[0].from[1].ipBlock.cidr`) and what was expected, so the author can fix it without reading dpemu.
 */
export type PolicyErrorCode =
  | 'POLICY_BAD_CIDR'
  | 'POLICY_BAD_SELECTOR'
  | 'POLICY_BAD_ENTITY'
  | 'POLICY_BAD_PORT'
  | 'POLICY_NAMED_PORT_UNDEFINED'
  | 'POLICY_UNSUPPORTED'
  | 'POLICY_BAD_L7'
  | 'POLICY_MAP_OVERFLOW'
  | 'POLICY_NAMESPACE'
  | 'POLICY_UNKNOWN_POD';

export interface PolicyDiagnostic {
  severity: 'error' | 'warning';
  code: PolicyErrorCode;
  /** `NetworkPolicy default/web` or `CiliumNetworkPolicy default/l7` (or `Pod ns/name` for map overflow). */
  object: string;
  /** Field path inside the object, e.g. `spec.ingress[0].ports[1].port`. */
  field: string;
  message: string;
}

export class PolicyError extends DpemuError {
  readonly diagnostics: PolicyDiagnostic[];
  constructor(code: PolicyErrorCode, message: string, diagnostics: PolicyDiagnostic[] = []) {
    super(code, message);
    this.diagnostics = diagnostics;
  }
}

export function formatDiagnostic(d: PolicyDiagnostic): string {
  return `${d.severity}: ${d.object}: ${d.field}: ${d.message} [${d.code}]`;
}
