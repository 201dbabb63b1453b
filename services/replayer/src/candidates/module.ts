import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UmbraError, type RequestEvent } from '@umbra/core';
import type { ModuleCandidateConfig } from './config.ts';
import { parseEventInput } from './output.ts';
import { isPending, type CandidateClient, type CandidateResult } from './types.ts';

/**
 * The function a module candidate exports. It gets the parsed event input and the event;
 * its return value (or the value it resolves to) is JSON-encoded as the output. `signal`
 * fires when the call times out or the replay is aborted, for functions that can stop early.
 * The input is parsed once per event and shared by every module candidate of the event, so it
 * is frozen: copy it to change it.
 */
export type CandidateFunction = (input: unknown, event: RequestEvent, opts: { signal?: AbortSignal }) => unknown;

export interface ModuleAdapterOptions {
  /** Directory a relative `path` is resolved from: the config file's directory. Defaults to the working directory. */
  baseDir?: string;
}

/** Loads the module with dynamic import() (tsx or vitest handle .ts) and checks the export is a function. */
export async function createModuleCandidate(config: ModuleCandidateConfig, opts: ModuleAdapterOptions = {}): Promise<CandidateClient> {
  const file = isAbsolute(config.path) ? config.path : resolve(opts.baseDir ?? process.cwd(), config.path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new UmbraError('CONFIG_INVALID', `candidate ${config.name}: cannot load module ${file}: ${(e as Error).message}`, {
      context: { candidate: config.name, field: 'path', path: file },
      cause: e,
    });
  }
  const fn = mod[config.export];
  if (typeof fn !== 'function') {
    throw new UmbraError('CONFIG_INVALID', `candidate ${config.name}: module ${file} has no function export "${config.export}"`, {
      context: { candidate: config.name, field: 'export', path: file },
    });
  }
  const model = fn as CandidateFunction;

  const failed = (e: unknown): UmbraError =>
    new UmbraError('CANDIDATE_FAILED', `candidate ${config.name} threw: ${e instanceof Error ? e.message : String(e)}`, {
      context: { candidate: config.name },
      cause: e,
    });

  const encode = (value: unknown, latencyMs: number): CandidateResult => {
    let output: string | undefined;
    try {
      output = JSON.stringify(value);
    } catch (e) {
      throw new UmbraError('CANDIDATE_BAD_OUTPUT', `candidate ${config.name} returned a value that cannot be JSON-encoded`, {
        context: { candidate: config.name },
        cause: e,
      });
    }
    // JSON.stringify gives undefined for undefined and functions.
    if (output === undefined) {
      throw new UmbraError('CANDIDATE_BAD_OUTPUT', `candidate ${config.name} returned no JSON value`, { context: { candidate: config.name } });
    }
    return { output, latencyMs };
  };

  const settle = async (pending: PromiseLike<unknown>, started: number): Promise<CandidateResult> => {
    let value: unknown;
    try {
      value = await pending;
    } catch (e) {
      throw failed(e);
    }
    return encode(value, performance.now() - started);
  };

  /** Synchronous when the function returns a value: no promise at all for the common in-process model. */
  const call = (event: RequestEvent, signal?: AbortSignal): CandidateResult | Promise<CandidateResult> => {
    const input = sharedInput(event, config.name);
    const started = performance.now();
    let value: unknown;
    try {
      value = model(input, event, signal ? { signal } : NO_SIGNAL);
    } catch (e) {
      throw failed(e);
    }
    if (isPending(value)) return settle(value, started);
    return encode(value, performance.now() - started);
  };

  return {
    name: config.name,
    call,
    // An async function: a synchronous throw of `call` becomes a rejection.
    async invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      return call(event, signal);
    },
    close: async () => {},
  };
}

const NO_SIGNAL: { signal?: AbortSignal } = Object.freeze({});

/** Parsed inputs by event: every module candidate of an event shares one parse. */
const parsedInputs = new WeakMap<RequestEvent, unknown>();

function sharedInput(event: RequestEvent, candidate: string): unknown {
  const hit = parsedInputs.get(event);
  // JSON.parse never gives undefined, so undefined means not parsed yet.
  if (hit !== undefined) return hit;
  // CANDIDATE_BAD_INPUT is thrown for each candidate, as before; only good parses are kept.
  const input = deepFreeze(parseEventInput(event.input, candidate, event.eventId));
  parsedInputs.set(event, input);
  return input;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
