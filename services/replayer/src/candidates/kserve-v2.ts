import { UmbraError, type RequestEvent } from '@umbra/core';
import type { KserveDatatype, KserveV2CandidateConfig } from './config.ts';
import { parseJsonPath } from './json-path.ts';
import { encodeOutputAt, parseEventInput, parseJsonOutput } from './output.ts';
import { createHttpTransport, type DispatcherFactory } from './transport.ts';
import type { CandidateClient, CandidateResult } from './types.ts';

/*
 * A candidate served over the Open Inference Protocol (KServe v2 REST):
 * POST {url}/v2/models/{name}[/versions/{version}]/infer.
 */

/** One tensor of an inference request or response (batch size 1 here). */
export interface InferTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

export interface InferRequest {
  id?: string;
  inputs: InferTensor[];
}

export interface KserveAdapterOptions {
  dispatcherFactory?: DispatcherFactory;
}

export function inferPath(basePath: string, model: { name: string; version?: string | undefined }): string {
  const base = basePath.replace(/\/+$/, '');
  const version = model.version === undefined ? '' : `/versions/${encodeURIComponent(model.version)}`;
  return `${base}/v2/models/${encodeURIComponent(model.name)}${version}/infer`;
}

export function isInferRequest(input: unknown): input is InferRequest {
  return typeof input === 'object' && input !== null && Array.isArray((input as { inputs?: unknown }).inputs);
}

function badInput(candidate: string, message: string, context: Record<string, unknown> = {}): UmbraError {
  return new UmbraError('CANDIDATE_BAD_INPUT', message, { context: { candidate, ...context } });
}

const INTEGER_TYPES = new Set<string>(['INT32', 'INT64']);
const FLOAT_TYPES = new Set<string>(['FP32', 'FP64']);

function fits(datatype: string, v: unknown): boolean {
  if (INTEGER_TYPES.has(datatype)) return typeof v === 'number' && Number.isInteger(v);
  if (FLOAT_TYPES.has(datatype)) return typeof v === 'number' && Number.isFinite(v);
  if (datatype === 'BOOL') return typeof v === 'boolean';
  return typeof v === 'string'; // BYTES
}

function inferDatatype(values: readonly unknown[]): KserveDatatype | null {
  if (values.length === 0) return null;
  if (values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return values.every((v) => Number.isInteger(v)) ? 'INT64' : 'FP32';
  }
  if (values.every((v) => typeof v === 'string')) return 'BYTES';
  if (values.every((v) => typeof v === 'boolean')) return 'BOOL';
  return null;
}

/**
 * One input tensor per feature of a flat object: a scalar becomes shape [1], a list shape
 * [1, n]. Datatypes are inferred (integers INT64, other numbers FP32, strings BYTES,
 * booleans BOOL) unless `datatypes` names one. Nested values are rejected: send an OIP
 * request as the event input instead.
 */
export function featuresToInferRequest(
  features: unknown,
  datatypes: Readonly<Record<string, KserveDatatype>>,
  candidate: string,
  id?: string,
): InferRequest {
  if (typeof features !== 'object' || features === null || Array.isArray(features)) {
    throw badInput(candidate, 'a kserve-v2 feature input must be a JSON object');
  }
  const inputs: InferTensor[] = [];
  for (const [name, value] of Object.entries(features)) {
    const list = Array.isArray(value);
    const data: unknown[] = list ? value : [value];
    const datatype = datatypes[name] ?? inferDatatype(data);
    if (datatype === null || !data.every((v) => fits(datatype, v))) {
      throw badInput(candidate, `feature "${name}" is not a scalar or a flat list of one type${datatypes[name] ? ` (${datatypes[name]})` : ''}`, {
        feature: name,
      });
    }
    inputs.push({ name, shape: list ? [1, data.length] : [1], datatype, data });
  }
  return id === undefined ? { inputs } : { id, inputs };
}

/** `{ <output name>: data }` from an inference response; a single-element data is unwrapped. */
export function inferResponseToOutput(response: unknown, candidate: string): Record<string, unknown> {
  const outputs = (response as { outputs?: unknown } | null)?.outputs;
  if (!Array.isArray(outputs)) {
    throw new UmbraError('CANDIDATE_BAD_OUTPUT', `candidate ${candidate} response has no "outputs" array`, { context: { candidate } });
  }
  const out: Record<string, unknown> = {};
  for (const t of outputs as unknown[]) {
    const { name, data } = (t ?? {}) as { name?: unknown; data?: unknown };
    if (typeof name !== 'string' || !Array.isArray(data)) {
      throw new UmbraError('CANDIDATE_BAD_OUTPUT', `candidate ${candidate} response has an output without a name or data`, {
        context: { candidate },
      });
    }
    out[name] = data.length === 1 ? data[0] : data;
  }
  return out;
}

export function createKserveV2Candidate(config: KserveV2CandidateConfig, opts: KserveAdapterOptions = {}): CandidateClient {
  const url = new URL(config.url);
  const path = inferPath(url.pathname, config.model);
  const transport = createHttpTransport({
    candidate: config.name,
    origin: url.origin,
    method: 'POST',
    headers: config.headers,
    connections: config.pool.connections ?? config.concurrency,
    keepAliveTimeoutMs: config.pool.keepAliveTimeoutMs,
    timeoutMs: config.timeoutMs,
    ...(opts.dispatcherFactory ? { dispatcherFactory: opts.dispatcherFactory } : {}),
  });
  const outputPath = parseJsonPath(config.outputPath);

  const bodyFor = (event: RequestEvent): string => {
    const input = parseEventInput(event.input, config.name, event.eventId);
    const oip = config.inputFormat === 'oip' || (config.inputFormat === 'auto' && isInferRequest(input));
    if (oip) {
      if (!isInferRequest(input)) throw badInput(config.name, 'the event input is not an inference request with an "inputs" array');
      return event.input;
    }
    return JSON.stringify(featuresToInferRequest(input, config.datatypes, config.name, event.eventId));
  };

  return {
    name: config.name,
    async invoke(event: RequestEvent, signal?: AbortSignal): Promise<CandidateResult> {
      const { text, latencyMs } = await transport.send(path, bodyFor(event), signal);
      const outputs = inferResponseToOutput(parseJsonOutput(text, config.name), config.name);
      return { output: encodeOutputAt(outputs, outputPath, config.outputPath, config.name), latencyMs };
    },
    close: () => transport.close(),
  };
}
