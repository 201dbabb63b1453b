import { parseCandidateConfig, parseCandidateConfigs, type CandidateConfig } from './config.ts';
import { createHttpCandidate } from './http.ts';
import { createKserveV2Candidate } from './kserve-v2.ts';
import { createModuleCandidate } from './module.ts';
import { sampled } from './sampling.ts';
import type { DispatcherFactory } from './transport.ts';
import type { CandidateClient } from './types.ts';
import { withConcurrencyLimit, withRetry, withTimeout, type LimitedCandidateClient, type RetryInfo } from './wrappers.ts';

export interface CandidateFactoryOptions {
  /** The config file's directory, for module paths. */
  baseDir?: string;
  /** Replaces the per-candidate undici Pool (http, kserve-v2), e.g. to add interceptors. */
  dispatcherFactory?: DispatcherFactory;
  onRetry?: (info: RetryInfo) => void;
  /** For tests: the jitter source of the retry backoff. */
  random?: () => number;
}

/** A candidate ready for replay: the adapter wrapped with timeout, retry and concurrency limit. */
export interface ManagedCandidateClient extends LimitedCandidateClient {
  readonly config: CandidateConfig;
  /** Whether this candidate replays the event, by `sampled(eventId, sampleRate, name)`. */
  samples(eventId: string): boolean;
}

/**
 * Builds one candidate from its config (raw or parsed) as
 *   withConcurrencyLimit(withRetry(withTimeout(adapter))).
 * Async because module candidates are imported here, so a bad path fails at start.
 */
export async function createCandidateClient(config: unknown, opts: CandidateFactoryOptions = {}): Promise<ManagedCandidateClient> {
  // Parsing is idempotent, so a config parsed earlier passes through unchanged.
  const parsed = parseCandidateConfig(config);
  const adapter = await createAdapter(parsed, opts);
  const limited = withConcurrencyLimit(
    withRetry(withTimeout(adapter, { timeoutMs: parsed.timeoutMs, retriable: parsed.retry.onTimeout }), {
      attempts: parsed.retry.attempts,
      backoffMs: parsed.retry.backoffMs,
      maxBackoffMs: parsed.retry.maxBackoffMs,
      ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
      ...(opts.random ? { random: opts.random } : {}),
    }),
    { limit: parsed.concurrency },
  );
  return {
    name: parsed.name,
    config: parsed,
    get inFlight() {
      return limited.inFlight;
    },
    get queued() {
      return limited.queued;
    },
    invoke: (event, signal) => limited.invoke(event, signal),
    ...(limited.call ? { call: limited.call } : {}),
    close: () => limited.close(),
    samples: (eventId) => sampled(eventId, parsed.sampleRate, parsed.name),
  };
}

/** Builds every candidate (names must be unique). If one fails, those already built are closed. */
export async function createCandidateClients(configs: unknown, opts: CandidateFactoryOptions = {}): Promise<ManagedCandidateClient[]> {
  const parsed = parseCandidateConfigs(configs);
  const built: ManagedCandidateClient[] = [];
  try {
    for (const c of parsed) built.push(await createCandidateClient(c, opts));
    return built;
  } catch (e) {
    await Promise.allSettled(built.map((b) => b.close()));
    throw e;
  }
}

function createAdapter(config: CandidateConfig, opts: CandidateFactoryOptions): Promise<CandidateClient> | CandidateClient {
  const transport = opts.dispatcherFactory ? { dispatcherFactory: opts.dispatcherFactory } : {};
  switch (config.adapter) {
    case 'http':
      return createHttpCandidate(config, transport);
    case 'kserve-v2':
      return createKserveV2Candidate(config, transport);
    case 'module':
      return createModuleCandidate(config, opts.baseDir === undefined ? {} : { baseDir: opts.baseDir });
  }
}
