import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UmbraError, type RequestEvent } from '@umbra/core';
import type { ModuleCandidateConfig } from './config.ts';
import { parseEventInput } from './output.ts';
import type { CandidateClient, CandidateResult } from './types.ts';

/**
 * The function a module candidate exports. It gets the parsed event input and the event;
 * its return value (or the value it resolves to) is JSON-encoded as the output. `signal`
 * fires when the call times out or the replay is aborted, for functions that can stop early.
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

  return {
    name: config.name,
    async invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      const input = parseEventInput(event.input, config.name, event.eventId);
      const started = performance.now();
      let value: unknown;
      try {
        value = await model(input, event, signal ? { signal } : {});
      } catch (e) {
        throw new UmbraError('CANDIDATE_FAILED', `candidate ${config.name} threw: ${e instanceof Error ? e.message : String(e)}`, {
          context: { candidate: config.name },
          cause: e,
        });
      }
      const latencyMs = performance.now() - started;
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
    },
    close: async () => {},
  };
}
