export { isPending, type CandidateClient, type CandidateResult } from './types.ts';
export {
  candidateConfigSchema,
  candidatesConfigSchema,
  httpCandidateConfigSchema,
  kserveV2CandidateConfigSchema,
  moduleCandidateConfigSchema,
  parseCandidateConfig,
  parseCandidateConfigs,
  KSERVE_DATATYPES,
  type CandidateConfig,
  type CandidateConfigInput,
  type HttpCandidateConfig,
  type KserveV2CandidateConfig,
  type ModuleCandidateConfig,
  type KserveDatatype,
  type RetryConfig,
} from './config.ts';
export { createCandidateClient, createCandidateClients, type CandidateFactoryOptions, type ManagedCandidateClient } from './factory.ts';
export { createHttpCandidate, type HttpAdapterOptions } from './http.ts';
export {
  createKserveV2Candidate,
  featuresToInferRequest,
  inferResponseToOutput,
  inferPath,
  type InferRequest,
  type InferTensor,
  type KserveAdapterOptions,
} from './kserve-v2.ts';
export { createModuleCandidate, type CandidateFunction, type ModuleAdapterOptions } from './module.ts';
export { sampled, sampleKey } from './sampling.ts';
export type { DispatcherFactory } from './transport.ts';
export {
  withConcurrencyLimit,
  withRetry,
  withTimeout,
  backoffDelay,
  type LimitedCandidateClient,
  type RetryInfo,
  type RetryOptions,
  type TimeoutOptions,
} from './wrappers.ts';
