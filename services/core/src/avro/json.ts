import { z } from 'zod';
import { ARMS, EVENT_STATUSES, type RequestEvent } from '../domain/events.ts';
import {
  checkRequestEvent,
  REQUEST_EVENT_SUBJECT,
  requestEventFromAvro,
  requestEventToAvro,
  type RequestEventAvro,
} from './request-event.ts';
import { validationError } from './wire.ts';

const EVENT_TIME_FORMS =
  'expected epoch milliseconds or an ISO-8601 date-time with offset, e.g. 2025-01-06T09:00:00.000Z';

/**
 * A RequestEvent in capture files (NDJSON): the Avro field names, `event_time` as epoch
 * milliseconds or an ISO-8601 date-time with offset. Fields with an Avro null default may be
 * left out; unknown fields are dropped, as Avro resolution drops fields a reader lacks.
 */
const requestEventJson = z.object({
  event_id: z.string(),
  event_time: z.union([z.number(), z.iso.datetime({ offset: true, error: EVENT_TIME_FORMS })], {
    error: EVENT_TIME_FORMS,
  }),
  model: z.object({ name: z.string(), version: z.string() }),
  arm: z.enum(ARMS),
  input: z.string(),
  output: z.string().nullable().default(null),
  latency_ms: z.number(),
  status: z.enum(EVENT_STATUSES),
  error_message: z.string().nullable().default(null),
  attributes: z.record(z.string(), z.string()).default({}),
  trace_id: z.string().nullable().default(null),
  tap_sample_rate: z.number().nullable().default(null),
});

function issuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(record)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

/**
 * Parses one capture-file record; throws VALIDATION_FAILED whose message and `context.field`
 * name the bad field. `context` is added to the error (e.g. the file and line).
 */
export function parseRequestEventJson(
  obj: unknown,
  context: Record<string, unknown> = {},
): RequestEvent {
  const parsed = requestEventJson.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const reason = issue.message.replace(/^Invalid input: /, '');
    throw validationError(REQUEST_EVENT_SUBJECT, { field: issuePath(issue.path), reason }, context);
  }
  const data = parsed.data;
  const eventTime =
    typeof data.event_time === 'number' ? data.event_time : Date.parse(data.event_time);
  const event = requestEventFromAvro({ ...data, event_time: eventTime } satisfies RequestEventAvro);
  const problem = checkRequestEvent(event);
  if (problem) throw validationError(REQUEST_EVENT_SUBJECT, problem, context);
  return event;
}

/** The capture-file form of an event (Avro field names, `event_time` in epoch milliseconds). */
export function requestEventToJson(event: RequestEvent): RequestEventAvro {
  return requestEventToAvro(event, 2);
}
