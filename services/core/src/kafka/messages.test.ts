import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { fromKafkaMessage, toKafkaMessage } from './messages.ts';

describe('message conversion', () => {
  it('passes key, value, headers and partition through to kafkajs', () => {
    expect(
      toKafkaMessage({
        key: 'k',
        value: Buffer.from('v'),
        headers: { a: 'x', b: Buffer.from([1]) },
        partition: 2,
      }),
    ).toEqual({
      key: 'k',
      value: Buffer.from('v'),
      headers: { a: 'x', b: Buffer.from([1]) },
      partition: 2,
    });
    expect(toKafkaMessage({ value: null })).toEqual({ key: null, value: null });
  });

  it('normalises consumed headers to Buffers, the last of a repeated header winning', () => {
    const m = {
      offset: '7',
      key: null,
      value: Buffer.from('v'),
      timestamp: '1700000000000',
      attributes: 0,
      headers: {
        one: Buffer.from('1'),
        text: 'plain',
        twice: [Buffer.from('first'), Buffer.from('second')],
        none: undefined,
      },
    } as unknown as KafkaMessage;
    const got = fromKafkaMessage(m);
    expect(got).toEqual({
      offset: '7',
      key: null,
      value: Buffer.from('v'),
      timestamp: '1700000000000',
      headers: {
        one: Buffer.from('1'),
        text: Buffer.from('plain'),
        twice: Buffer.from('second'),
        none: undefined,
      },
    });
  });
});
