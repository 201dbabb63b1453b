import type { Arm, EventStatus, RequestEvent } from '../domain/events.ts';
import { schemaCatalog } from './catalog.ts';
import type { SchemaRegistry } from './registry.ts';
import {
  createRecordCodec,
  type EncodedMessage,
  type FieldProblem,
  type MessageHeaders,
  type RecordCodec,
  type RecordCodecSpec,
} from './wire.ts';

export const REQUEST_EVENT_SUBJECT = 'RequestEvent';

/** The schema versions of RequestEvent in `schemas/`. */
export type RequestEventVersion = 1 | 2;

/** RequestEvent as Avro sees it: the field names of schemas/RequestEvent.v2.avsc. */
export interface RequestEventAvro {
  event_id: string;
  event_time: number;
  model: { name: string; version: string };
  arm: Arm;
  input: string;
  output: string | null;
  latency_ms: number;
  status: EventStatus;
  error_message: string | null;
  attributes: Record<string, string>;
  trace_id: string | null;
  /** v2 only. */
  tap_sample_rate?: number | null;
}

export function requestEventToAvro(event: RequestEvent, version: number = 2): RequestEventAvro {
  const avro: RequestEventAvro = {
    event_id: event.eventId,
    event_time: event.eventTime,
    model: { name: event.model.name, version: event.model.version },
    arm: event.arm,
    input: event.input,
    output: event.output,
    latency_ms: event.latencyMs,
    status: event.status,
    error_message: event.errorMessage,
    attributes: event.attributes,
    trace_id: event.traceId,
  };
  // v1 cannot carry the sampling rate: writing v1 drops it, as a v1 reader would.
  if (version >= 2) avro.tap_sample_rate = event.tapSampleRate ?? null;
  return avro;
}

/** Maps an Avro record (any version) to the domain type; fields a version lacks come back null. */
export function requestEventFromAvro(avro: RequestEventAvro): RequestEvent {
  return {
    eventId: avro.event_id,
    eventTime: avro.event_time,
    model: { name: avro.model.name, version: avro.model.version },
    arm: avro.arm,
    input: avro.input,
    output: avro.output ?? null,
    latencyMs: avro.latency_ms,
    status: avro.status,
    errorMessage: avro.error_message ?? null,
    attributes: { ...avro.attributes },
    traceId: avro.trace_id ?? null,
    tapSampleRate: avro.tap_sample_rate ?? null,
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export interface RequestEventCheckOptions {
  /**
   * False when the caller made `input` and `output` JSON itself (it parsed them, as the router
   * does): parsing them again is the largest part of checking an event. Default true.
   */
  json?: boolean;
}

/**
 * What the Avro types cannot say about an event: the first problem, named by its Avro field,
 * or undefined when the event is fine.
 */
export function checkRequestEvent(
  event: RequestEvent,
  opts: RequestEventCheckOptions = {},
): FieldProblem | undefined {
  const json = opts.json ?? true;
  if (event.eventId.length === 0) return { field: 'event_id', reason: 'must not be empty' };
  if (!Number.isSafeInteger(event.eventTime) || event.eventTime <= 0) {
    return {
      field: 'event_time',
      reason: `must be a positive integer of epoch milliseconds, got ${event.eventTime}`,
    };
  }
  if (event.model.name.length === 0) return { field: 'model.name', reason: 'must not be empty' };
  if (event.model.version.length === 0)
    return { field: 'model.version', reason: 'must not be empty' };
  if (json && !isJson(event.input)) return { field: 'input', reason: 'must be JSON text' };
  if (event.output === null) {
    // Only a failed request may lack an output.
    if (event.status === 'ok')
      return { field: 'output', reason: 'must not be null when status is ok' };
  } else if (json && !isJson(event.output)) {
    return { field: 'output', reason: 'must be JSON text or null' };
  }
  if (!Number.isFinite(event.latencyMs) || event.latencyMs < 0) {
    return { field: 'latency_ms', reason: `must be a finite number >= 0, got ${event.latencyMs}` };
  }
  const rate = event.tapSampleRate;
  if (rate !== undefined && rate !== null && !(Number.isFinite(rate) && rate > 0 && rate <= 1)) {
    return { field: 'tap_sample_rate', reason: `must be in (0, 1] or null, got ${rate}` };
  }
  return undefined;
}

const makeCodec = (check: RecordCodecSpec<RequestEvent>['check']): RecordCodec<RequestEvent> =>
  createRecordCodec<RequestEvent>(
    {
      subject: REQUEST_EVENT_SUBJECT,
      toAvro: (event, version) =>
        requestEventToAvro(event, version) as unknown as Record<string, unknown>,
      fromAvro: (avro) => requestEventFromAvro(avro as unknown as RequestEventAvro),
      check,
    },
    schemaCatalog(),
  );

let codec: RecordCodec<RequestEvent> | undefined;
let jsonCheckedCodec: RecordCodec<RequestEvent> | undefined;

/** The RequestEvent codec over the repository's schema catalog. */
export function requestEventCodec(): RecordCodec<RequestEvent> {
  codec ??= makeCodec(checkRequestEvent);
  return codec;
}

export type RequestEventEncodeOptions = (
  | { format: 'raw'; version?: RequestEventVersion }
  | { format: 'confluent'; schemaId: number; version?: RequestEventVersion }
) & {
  /**
   * The caller vouches that `input` and `output` are JSON text (it parsed them): they are not
   * parsed again. Every other check still runs, and consumers check the JSON when they decode.
   */
  jsonChecked?: boolean;
};

/**
 * Encodes an event for Kafka. Raw: Avro binary of `version` (default latest) with the header
 * `umbra-schema: RequestEvent.vN`. Confluent: magic byte, `schemaId`, Avro binary; no header.
 * Throws VALIDATION_FAILED naming the field.
 */
export function encodeRequestEvent(
  event: RequestEvent,
  opts: RequestEventEncodeOptions = { format: 'raw' },
): EncodedMessage {
  if (!opts.jsonChecked) return requestEventCodec().encode(event, opts);
  jsonCheckedCodec ??= makeCodec((e) => checkRequestEvent(e, { json: false }));
  return jsonCheckedCodec.encode(event, opts);
}

/**
 * Decodes and validates an event from Kafka, resolving the writer's schema to the latest one.
 * Asynchronous because a Confluent schema id may need a registry lookup (cached after the first).
 * Throws UmbraError DECODE_FAILED | SCHEMA_UNKNOWN | VALIDATION_FAILED (| REGISTRY_FAILED).
 */
export function decodeRequestEvent(
  value: Buffer | null,
  headers: MessageHeaders,
  registry?: SchemaRegistry,
): Promise<RequestEvent> {
  return requestEventCodec().decode(value, headers, registry);
}
