import { DpemuError } from '../util/errors.js';

/** Stable codes for everything the kube-proxy renderer and chain walker refuse. */
export type KubeProxyErrorCode = 'KP_UNKNOWN_NODE' | 'KP_UNKNOWN_CHAIN' | 'KP_CHAIN_LOOP' | 'KP_BAD_MODE';

export class KubeProxyError extends DpemuError {
  declare readonly code: KubeProxyErrorCode;
  constructor(code: KubeProxyErrorCode, message: string) {
    super(code, message);
  }
}
