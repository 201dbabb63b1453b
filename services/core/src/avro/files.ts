import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inflateRawSync } from 'node:zlib';
import avro from 'avsc';
import type { Type } from 'avsc';
import type { RequestEvent } from '../domain/events.ts';
import { UmbraError, isUmbraError } from '../errors.ts';
import { parseAvroSchema, schemaCatalog } from './catalog.ts';
import { parseRequestEventJson, requestEventToJson } from './json.ts';
import {
  checkRequestEvent,
  REQUEST_EVENT_SUBJECT,
  requestEventFromAvro,
  requestEventToAvro,
  type RequestEventAvro,
  type RequestEventVersion,
} from './request-event.ts';
import { AvroScanError, scanAvro } from './scan.ts';
import { resolverFor, schemaProblem, validationError } from './wire.ts';

type Events = Iterable<RequestEvent> | AsyncIterable<RequestEvent>;

/** The first bytes of every Avro object container file. */
const AVRO_MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const SYNC_SIZE = 16;

// The container header as the Avro specification defines it.
const HEADER_TYPE = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
  ],
});
const LONG_TYPE = avro.Type.forSchema('long');

/** ENOENT is NOT_FOUND; other I/O failures are BAD_ARGUMENT (a directory, no permission). */
function fileError(path: string, cause: unknown, doing: string): UmbraError {
  if (isUmbraError(cause)) return cause;
  const code = (cause as NodeJS.ErrnoException).code;
  return new UmbraError(
    code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_ARGUMENT',
    `${path}: cannot ${doing} (${code ?? (cause as Error).message})`,
    {
      context: { path, errno: code },
      cause,
    },
  );
}

function decodeError(
  path: string,
  reason: string,
  context: Record<string, unknown> = {},
  cause?: unknown,
): UmbraError {
  return new UmbraError('DECODE_FAILED', `${path}: ${reason}`, {
    context: { ...context, path },
    cause,
  });
}

/**
 * Reads an NDJSON capture file, one RequestEvent per line (see `parseRequestEventJson`); blank
 * lines are skipped. A bad line throws VALIDATION_FAILED naming the line and the field.
 */
export async function* readNdjson(path: string): AsyncGenerator<RequestEvent> {
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (cause) {
        throw new UmbraError(
          'VALIDATION_FAILED',
          `${path}:${line}: not JSON (${(cause as Error).message})`,
          {
            context: { path, line, field: '(line)' },
            cause,
          },
        );
      }
      let event: RequestEvent;
      try {
        event = parseRequestEventJson(obj, { path, line });
      } catch (cause) {
        if (!isUmbraError(cause)) throw cause;
        throw new UmbraError(cause.code, `${path}:${line}: ${cause.message}`, {
          context: { ...cause.context },
          cause,
        });
      }
      yield event;
    }
  } catch (cause) {
    throw fileError(path, cause, 'read the capture file');
  } finally {
    lines.close();
  }
}

/** Writes events as NDJSON (the form `readNdjson` reads); returns how many were written. */
export async function writeNdjson(path: string, events: Events): Promise<number> {
  let count = 0;
  async function* lines(): AsyncGenerator<string> {
    for await (const event of events) {
      const problem = checkRequestEvent(event);
      if (problem) throw validationError(REQUEST_EVENT_SUBJECT, problem, { path, index: count });
      count++;
      yield `${JSON.stringify(requestEventToJson(event))}\n`;
    }
  }
  try {
    await pipeline(Readable.from(lines()), createWriteStream(path));
  } catch (cause) {
    throw fileError(path, cause, 'write the capture file');
  }
  return count;
}

interface ContainerHeader {
  writer: Type;
  sync: Buffer;
  inflate: (block: Buffer) => Buffer;
}

function parseHeader(path: string, meta: Record<string, Buffer>): Omit<ContainerHeader, 'sync'> {
  const codec = meta['avro.codec']?.toString() ?? 'null';
  let inflate: (block: Buffer) => Buffer;
  if (codec === 'null') inflate = (b) => b;
  else if (codec === 'deflate') inflate = (b) => inflateRawSync(b);
  else
    throw decodeError(path, `unsupported container codec ${codec} (null and deflate are)`, {
      codec,
    });
  const schema = meta['avro.schema'];
  if (!schema) throw decodeError(path, 'container header has no avro.schema');
  let writer: Type;
  try {
    writer = parseAvroSchema(JSON.parse(schema.toString('utf8')));
  } catch (cause) {
    throw decodeError(
      path,
      `container schema is not valid Avro (${(cause as Error).message})`,
      {},
      cause,
    );
  }
  return { writer, inflate };
}

/**
 * Reads an Avro object container file of RequestEvents written with any RequestEvent schema
 * version, resolved to the latest one. Streams block by block. A truncated or corrupt file
 * throws DECODE_FAILED (never a silently short read); a bad event throws VALIDATION_FAILED with
 * its index.
 */
export async function* readAvroContainer(path: string): AsyncGenerator<RequestEvent> {
  const reader = schemaCatalog().latest(REQUEST_EVENT_SUBJECT).type;
  let header: ContainerHeader | undefined;
  let resolver: ReturnType<typeof resolverFor> = null;
  let buf: Buffer = Buffer.alloc(0);
  let offset = 0; // of `buf` in the file, for error context
  let index = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      buf = buf.length === 0 ? (chunk as Buffer) : Buffer.concat([buf, chunk as Buffer]);
      let pos = 0;
      if (!header) {
        if (
          buf.length >= AVRO_MAGIC.length &&
          !buf.subarray(0, AVRO_MAGIC.length).equals(AVRO_MAGIC)
        ) {
          throw decodeError(path, 'not an Avro container file (bad magic bytes)');
        }
        try {
          scanAvro(HEADER_TYPE, buf);
        } catch (cause) {
          if (cause instanceof AvroScanError && cause.truncated) continue; // the header spans chunks
          throw decodeError(
            path,
            `corrupt container header (${(cause as Error).message})`,
            {},
            cause,
          );
        }
        const h = HEADER_TYPE.decode(buf, 0);
        const value = h.value as { meta: Record<string, Buffer>; sync: Buffer };
        header = { ...parseHeader(path, value.meta), sync: Buffer.from(value.sync) };
        resolver = resolverFor(header.writer, reader, { path, subject: REQUEST_EVENT_SUBJECT });
        pos = h.offset;
      }
      for (;;) {
        const count = LONG_TYPE.decode(buf, pos);
        if (count.offset < 0) break;
        const size = LONG_TYPE.decode(buf, count.offset);
        if (size.offset < 0) break;
        const n = count.value as number;
        const bytes = size.value as number;
        if (n < 0 || bytes < 0)
          throw decodeError(path, 'corrupt block header', { offset: offset + pos });
        const end = size.offset + bytes + SYNC_SIZE;
        if (end > buf.length) break;
        if (!buf.subarray(end - SYNC_SIZE, end).equals(header.sync)) {
          throw decodeError(path, 'sync marker mismatch: corrupt block', { offset: offset + pos });
        }
        let block: Buffer;
        try {
          block = header.inflate(buf.subarray(size.offset, size.offset + bytes));
        } catch (cause) {
          throw decodeError(
            path,
            `block does not decompress (${(cause as Error).message})`,
            { offset: offset + pos },
            cause,
          );
        }
        let at = 0;
        for (let i = 0; i < n; i++) {
          let decoded: { value: unknown; offset: number };
          try {
            scanAvro(header.writer, block, at);
            decoded = resolver ? reader.decode(block, at, resolver) : reader.decode(block, at);
          } catch (cause) {
            throw decodeError(
              path,
              `event ${index}: ${(cause as Error).message}`,
              { index },
              cause,
            );
          }
          if (decoded.offset < 0)
            throw decodeError(path, `event ${index}: block ends inside the event`, { index });
          at = decoded.offset;
          const event = requestEventFromAvro(decoded.value as RequestEventAvro);
          const problem = checkRequestEvent(event);
          if (problem) throw validationError(REQUEST_EVENT_SUBJECT, problem, { path, index });
          index++;
          yield event;
        }
        if (at !== block.length)
          throw decodeError(path, 'block has bytes after its last event', { offset: offset + pos });
        pos = end;
      }
      offset += pos;
      buf = buf.subarray(pos);
    }
  } catch (cause) {
    throw fileError(path, cause, 'read the Avro file');
  }
  if (!header) throw decodeError(path, 'not an Avro container file (no complete header)');
  if (buf.length > 0)
    throw decodeError(path, `truncated: ${buf.length} bytes after the last complete block`, {
      offset,
    });
}

/**
 * Writes events to an Avro object container file with RequestEvent schema `version` (default
 * the latest) and `codec` (default deflate); returns how many were written. A bad event throws
 * VALIDATION_FAILED naming its index and field.
 */
export async function writeAvroContainer(
  path: string,
  events: Events,
  opts: { version?: RequestEventVersion; codec?: 'null' | 'deflate' } = {},
): Promise<number> {
  const catalog = schemaCatalog();
  const schema =
    opts.version === undefined
      ? catalog.latest(REQUEST_EVENT_SUBJECT)
      : catalog.get(REQUEST_EVENT_SUBJECT, opts.version);
  let count = 0;
  async function* records(): AsyncGenerator<RequestEventAvro> {
    for await (const event of events) {
      const record = requestEventToAvro(event, schema.version);
      // Avro's type checks first, so checkRequestEvent sees fields of the right types.
      const problem = schemaProblem(record, schema.type) ?? checkRequestEvent(event);
      if (problem) throw validationError(REQUEST_EVENT_SUBJECT, problem, { path, index: count });
      count++;
      yield record;
    }
  }
  try {
    await pipeline(
      Readable.from(records()),
      new avro.streams.BlockEncoder(schema.type, { codec: opts.codec ?? 'deflate' }),
      createWriteStream(path),
    );
  } catch (cause) {
    throw fileError(path, cause, 'write the Avro file');
  }
  return count;
}

/** Reads a capture file of either kind: an Avro container file (by its magic bytes) or NDJSON. */
export async function* readCaptureFile(path: string): AsyncGenerator<RequestEvent> {
  let head: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await file.read(
        Buffer.alloc(AVRO_MAGIC.length),
        0,
        AVRO_MAGIC.length,
        0,
      );
      head = buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (cause) {
    throw fileError(path, cause, 'open the capture file');
  }
  yield* head.equals(AVRO_MAGIC) ? readAvroContainer(path) : readNdjson(path);
}
