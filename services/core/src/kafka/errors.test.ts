import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { UmbraError } from '../errors.ts';
import { isUnavailable, toKafkaError } from './errors.ts';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError } =
  kafkajs;
// kafkajs's typings lag its constructors (protocol errors take the error-code record).
const KafkaJSProtocolError = kafkajs.KafkaJSProtocolError as unknown as new (e: {
  message: string;
  type: string;
  code: number;
  retriable: boolean;
}) => Error;
const NonRetriable = KafkaJSNonRetriableError as unknown as new (
  e: Error,
  opts: { cause: Error },
) => Error;

describe('toKafkaError', () => {
  it('maps a connection failure, however deeply wrapped, to a retriable KAFKA_UNAVAILABLE', () => {
    const refused = new KafkaJSConnectionError(
      'Connection error: connect ECONNREFUSED 127.0.0.1:1',
      { code: 'ECONNREFUSED' },
    );
    const exhausted = new KafkaJSNumberOfRetriesExceeded(refused, {
      retryCount: 5,
      retryTime: 100,
    });
    const outer = new NonRetriable(exhausted, { cause: exhausted });
    for (const err of [refused, exhausted, outer]) {
      const mapped = toKafkaError(err, 'admin connect', { topic: 't' });
      expect(mapped).toBeInstanceOf(UmbraError);
      expect(mapped).toMatchObject({
        code: 'KAFKA_UNAVAILABLE',
        retriable: true,
        context: { operation: 'admin connect', topic: 't' },
      });
      expect(mapped.cause).toBe(err);
    }
  });

  it('keeps the protocol error type and kafkajs retriable flag for other failures', () => {
    const invalid = new KafkaJSProtocolError({
      message: 'bad config',
      type: 'INVALID_CONFIG',
      code: 40,
      retriable: false,
    });
    expect(toKafkaError(invalid, 'create topics')).toMatchObject({
      code: 'KAFKA_FAILED',
      retriable: false,
      context: { kafkaErrorType: 'INVALID_CONFIG' },
    });
    const leader = new KafkaJSProtocolError({
      message: 'no leader',
      type: 'LEADER_NOT_AVAILABLE',
      code: 5,
      retriable: true,
    });
    expect(isUnavailable(leader)).toBe(true);
    expect(toKafkaError(new Error('boom'), 'produce')).toMatchObject({
      code: 'KAFKA_FAILED',
      retriable: false,
    });
  });

  it('passes an UmbraError through unchanged', () => {
    const e = new UmbraError('BAD_ARGUMENT', 'x');
    expect(toKafkaError(e, 'produce')).toBe(e);
  });
});
