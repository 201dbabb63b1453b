export * from './domain/index.ts';
export {
  createPromoter,
  DEFAULT_DECISIONS_TOPIC,
  DEFAULT_TICK_MS,
  parseSpecText,
  toDecisionMessage,
  type Promoter,
  type PromoterEvents,
  type PromoterOptions,
  type RolloutStatus,
} from './promoter.ts';
export {
  DEFAULT_ARMS,
  hasLiveSplit,
  loadEvidence,
  servedModelName,
  type ArmNames,
  type EvidenceOptions,
} from './evidence.ts';
export {
  createRolloutStore,
  grantEntry,
  newDecisionId,
  type DecisionRecord,
  type RecordedDecision,
  type RolloutStore,
  type StoredRollout,
} from './store.ts';
export {
  DEFAULT_LEADER_GROUP,
  DEFAULT_LEADER_TOPIC,
  kafkaLeadership,
  soleLeadership,
  type Leadership,
  type LeadershipChange,
  type LeadershipOptions,
} from './leader.ts';
export { createPromoterMetrics, gateRequestsCounter, type PromoterMetrics } from './metrics.ts';
export {
  createGateServer,
  flaggerRollout,
  type FlaggerPayload,
  type GateServer,
  type GateServerOptions,
  type GateSource,
} from './gates/server.ts';
export {
  argoVerdict,
  FLAGGER_HOOKS,
  flaggerAnswer,
  hasReached,
  isRolledBack,
  type ArgoVerdict,
  type FlaggerAnswer,
  type FlaggerHook,
  type VerdictInput,
  type VerdictQuery,
} from './gates/verdict.ts';
export { renderDecision, renderReasons, renderStatus, renderTable } from './render.ts';
