import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { InMessage, OutMessage } from './types.ts';

export function toKafkaMessage(m: OutMessage): Message {
  const out: Message = { key: m.key ?? null, value: m.value };
  if (m.headers !== undefined) out.headers = { ...m.headers };
  if (m.partition !== undefined) out.partition = m.partition;
  return out;
}

function headerValue(v: IHeaders[string]): Buffer | undefined {
  // Kafka allows a header name more than once; kafkajs then hands an array. The last one wins,
  // as with the Java client's lastHeader().
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  if (last === undefined) return undefined;
  return typeof last === 'string' ? Buffer.from(last) : last;
}

export function fromKafkaMessage(m: KafkaMessage): InMessage {
  const headers: Record<string, Buffer | undefined> = {};
  for (const [name, v] of Object.entries(m.headers ?? {})) headers[name] = headerValue(v);
  return {
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers,
    timestamp: m.timestamp,
  };
}
