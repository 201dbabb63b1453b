import { UmbraError, type RequestEvent } from '@umbra/core';
import type { HttpCandidateConfig } from './config.ts';
import { parseJsonPath } from './json-path.ts';
import { encodeOutputAt, parseEventInput, parseJsonOutput } from './output.ts';
import { compileTemplate, MissingInputPathError } from './template.ts';
import { createHttpTransport, type DispatcherFactory } from './transport.ts';
import type { CandidateClient, CandidateResult } from './types.ts';

export interface HttpAdapterOptions {
  dispatcherFactory?: DispatcherFactory;
}

/**
 * A candidate behind a JSON HTTP endpoint: sends the event input (as is, or placed in the
 * body template), returns the response at `outputPath`. No timeout or retry of its own;
 * the factory wraps it.
 */
export function createHttpCandidate(config: HttpCandidateConfig, opts: HttpAdapterOptions = {}): CandidateClient {
  const url = new URL(config.url);
  const path = url.pathname + url.search;
  const transport = createHttpTransport({
    candidate: config.name,
    origin: url.origin,
    method: config.method,
    headers: config.headers,
    connections: config.pool.connections ?? config.concurrency,
    keepAliveTimeoutMs: config.pool.keepAliveTimeoutMs,
    timeoutMs: config.timeoutMs,
    ...(opts.dispatcherFactory ? { dispatcherFactory: opts.dispatcherFactory } : {}),
  });
  const outputPath = parseJsonPath(config.outputPath);
  const template = config.body === 'input' ? null : compileTemplate(config.body.template);

  const bodyFor = (event: RequestEvent): string => {
    if (template === null) return event.input;
    const input = parseEventInput(event.input, config.name, event.eventId);
    try {
      return JSON.stringify(template(input));
    } catch (e) {
      if (e instanceof MissingInputPathError) {
        throw new UmbraError('CANDIDATE_BAD_INPUT', e.message, {
          context: { candidate: config.name, eventId: event.eventId, placeholder: e.placeholder },
        });
      }
      throw e;
    }
  };

  return {
    name: config.name,
    async invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      const { text, latencyMs } = await transport.send(path, bodyFor(event), signal);
      const output = encodeOutputAt(parseJsonOutput(text, config.name), outputPath, config.outputPath, config.name);
      return { output, latencyMs };
    },
    close: () => transport.close(),
  };
}
