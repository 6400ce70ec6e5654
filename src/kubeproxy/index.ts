export * from './rule.js';
export { base32, portProtoHash, servicePortName, svcChainName, svlChainName, extChainName, fwChainName, sepChainName } from './chain-names.js';
export {
  renderNodeRules,
  servicePortPlans,
  serviceEndpoints,
  deriveClusterCidr,
  DEFAULT_SESSION_AFFINITY_SECONDS,
  NODE_PORT_RANGE,
} from './node-rules.js';
export type { NodeRulesOptions, ServiceEndpoint, ServicePortPlan } from './node-rules.js';
export { renderIptablesSave, formatRule, formatMatch, formatTarget } from './render-save.js';
export type { RenderOptions } from './render-save.js';
export { matchRule, walkChain, findChain } from './walk.js';
export type { KpPacket, PacketProto, WalkContext, WalkResult, NatAction } from './walk.js';
export { RecentTable } from './recent.js';
export { KubeProxyError } from './errors.js';
export type { KubeProxyErrorCode } from './errors.js';
export { rulesCommand } from './rules-command.js';
export type { RulesCommandOptions } from './rules-command.js';
