import { UmbraError } from '@umbra/core';
import { selectJsonPath, type JsonPath } from './json-path.ts';

/** Parses a response body as JSON; CANDIDATE_BAD_OUTPUT with an excerpt when it is not. */
export function parseJsonOutput(text: string, candidate: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UmbraError('CANDIDATE_BAD_OUTPUT', `candidate ${candidate} answered with a body that is not JSON`, {
      context: { candidate, body: text.slice(0, 1024) },
      cause: e,
    });
  }
}

/** The JSON-encoded value at `path`; CANDIDATE_BAD_OUTPUT when it is missing. */
export function encodeOutputAt(value: unknown, path: JsonPath, pathText: string, candidate: string): string {
  const picked = path.length === 0 ? value : selectJsonPath(value, path);
  if (picked === undefined) {
    throw new UmbraError('CANDIDATE_BAD_OUTPUT', `candidate ${candidate} output has no value at ${pathText}`, {
      context: { candidate, outputPath: pathText },
    });
  }
  return JSON.stringify(picked);
}

/** Parses the event input; CANDIDATE_BAD_INPUT when it is not JSON. */
export function parseEventInput(input: string, candidate: string, eventId: string): unknown {
  try {
    return JSON.parse(input);
  } catch (e) {
    throw new UmbraError('CANDIDATE_BAD_INPUT', `event ${eventId} input is not JSON`, { context: { candidate, eventId }, cause: e });
  }
}
