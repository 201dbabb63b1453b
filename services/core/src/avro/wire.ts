import type { Type } from 'avsc';
import { UmbraError, isUmbraError } from '../errors.ts';
import {
  parseAvroSchema,
  schemaCatalog,
  SCHEMA_HEADER,
  type SchemaCatalog,
  type SchemaVersion,
} from './catalog.ts';
import type { SchemaRegistry } from './registry.ts';
import { scanAvro } from './scan.ts';

/** First byte of the Confluent wire format; then a 4-byte big-endian schema id, then Avro binary. */
export const CONFLUENT_MAGIC = 0;
const CONFLUENT_PREFIX = 5;

/**
 * How to frame an Avro value on Kafka.
 * raw: the Avro binary of `version` (default: latest), named in the `umbra-schema` header.
 * confluent: magic byte 0 + `schemaId` (the id `version` is registered under) + Avro binary.
 */
export type EncodeOptions =
  { format: 'raw'; version?: number } | { format: 'confluent'; schemaId: number; version?: number };

export interface EncodedMessage {
  value: Buffer;
  headers: Record<string, string>;
}

/** Kafka message headers as clients hand them over; a repeated header keeps its last value. */
export type MessageHeaders = Readonly<
  Record<string, Buffer | string | ReadonlyArray<Buffer | string> | undefined>
>;

/** A field path and what is wrong with it, in the Avro (snake_case) field names. */
export interface FieldProblem {
  field: string;
  reason: string;
}

export function validationError(
  subject: string,
  problem: FieldProblem,
  context: Record<string, unknown> = {},
): UmbraError {
  return new UmbraError('VALIDATION_FAILED', `${subject}: ${problem.field}: ${problem.reason}`, {
    context: { ...context, subject, field: problem.field },
  });
}

// Resolvers are costly to build and reused for every message of a writer schema.
type Resolver = ReturnType<Type['createResolver']>;
const resolvers = new WeakMap<Type, WeakMap<Type, Resolver | null>>();

/**
 * The avsc resolver that reads `writer` bytes as `reader` values, or null when the two are the
 * same schema. Namespaces are ignored so producers in other languages may use their own.
 * Throws DECODE_FAILED when the schemas are not compatible.
 */
export function resolverFor(
  writer: Type,
  reader: Type,
  context: Record<string, unknown> = {},
): Resolver | null {
  let byReader = resolvers.get(writer);
  if (!byReader) {
    byReader = new WeakMap();
    resolvers.set(writer, byReader);
  }
  let resolver = byReader.get(reader);
  if (resolver === undefined) {
    try {
      resolver =
        writer === reader || writer.equals(reader)
          ? null
          : reader.createResolver(writer, { ignoreNamespaces: true });
    } catch (cause) {
      throw new UmbraError(
        'DECODE_FAILED',
        `writer schema ${writer.name ?? writer.typeName} cannot be read as ${reader.name ?? reader.typeName}: ${(cause as Error).message}`,
        {
          context,
          cause,
        },
      );
    }
    byReader.set(reader, resolver);
  }
  return resolver;
}

/**
 * Decodes `bytes` written with `writer` into the shape of `reader` (avsc schema resolution:
 * fields added with defaults are filled, fields the reader lacks are skipped). Throws
 * DECODE_FAILED when the bytes are truncated, have trailing data, or the schemas are not
 * compatible.
 */
export function decodeAvro(
  bytes: Buffer,
  writer: Type,
  reader: Type,
  context: Record<string, unknown> = {},
): unknown {
  const resolver = resolverFor(writer, reader, context);
  try {
    // The scan bounds every length and count first, so corrupt bytes cannot stall avsc.
    const end = scanAvro(writer, bytes);
    if (end !== bytes.length)
      throw new Error(`trailing data: ${bytes.length - end} bytes after the value`);
    // fromBuffer also throws on truncated input and on trailing bytes.
    return resolver ? reader.fromBuffer(bytes, resolver) : reader.fromBuffer(bytes);
  } catch (cause) {
    throw new UmbraError(
      'DECODE_FAILED',
      `not a valid Avro ${reader.name ?? reader.typeName} value: ${(cause as Error).message}`,
      {
        context: { ...context, bytes: bytes.length },
        cause,
      },
    );
  }
}

/** avsc's error path (`['metrics', '0', 'n']`) as umbra names fields (`metrics[0].n`). */
export function formatAvroPath(path: readonly string[]): string {
  if (path.length === 0) return '(record)';
  return path.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : `${i === 0 ? '' : '.'}${p}`)).join('');
}

/** The first field of `value` that `type` rejects; undefined when the value fits. */
export function schemaProblem(value: unknown, type: Type): FieldProblem | undefined {
  let problem: FieldProblem | undefined;
  type.isValid(value, {
    errorHook(path, val, t) {
      problem ??= {
        field: formatAvroPath(path),
        reason: `${JSON.stringify(val) ?? 'undefined'} is not a valid ${t.typeName}`,
      };
    },
  });
  return problem;
}

/** Encodes `value` with `type`; throws VALIDATION_FAILED naming the first field the schema rejects. */
export function encodeAvro(value: unknown, type: Type, subject: string): Buffer {
  try {
    return type.toBuffer(value);
  } catch (cause) {
    const problem = schemaProblem(value, type) ?? {
      field: '(record)',
      reason: (cause as Error).message,
    };
    throw new UmbraError('VALIDATION_FAILED', `${subject}: ${problem.field}: ${problem.reason}`, {
      context: { subject, field: problem.field },
      cause,
    });
  }
}

/** Frames Avro binary in the Confluent wire format. */
export function confluentFrame(schemaId: number, avroBytes: Buffer): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) {
    throw new UmbraError(
      'BAD_ARGUMENT',
      `schema id must be an integer in 0..2147483647, got ${schemaId}`,
      {
        context: { schemaId },
      },
    );
  }
  const out = Buffer.allocUnsafe(CONFLUENT_PREFIX + avroBytes.length);
  out.writeUInt8(CONFLUENT_MAGIC, 0);
  out.writeUInt32BE(schemaId, 1);
  avroBytes.copy(out, CONFLUENT_PREFIX);
  return out;
}

/** The header's value as text: Buffers are UTF-8, a repeated header keeps its last value. */
export function headerText(headers: MessageHeaders, name: string): string | undefined {
  const raw = headers[name];
  const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (last === undefined) return undefined;
  return typeof last === 'string' ? last : (last as Buffer).toString('utf8');
}

export interface RecordCodecSpec<T> {
  /** The record name in `schemas/`, e.g. `RequestEvent`. */
  subject: string;
  /** The typed record as the Avro record of `version` (snake_case fields). */
  toAvro(record: T, version: number): Record<string, unknown>;
  /** The Avro record read with the latest schema as the typed record. */
  fromAvro(avro: Record<string, unknown>): T;
  /** Checks that Avro's types cannot express; the first problem found, in Avro field names. */
  check?(record: T): FieldProblem | undefined;
}

/** Encodes and decodes one catalog subject in both wire formats. */
export interface RecordCodec<T> {
  readonly subject: string;
  /** Throws VALIDATION_FAILED (bad record), SCHEMA_UNKNOWN (unknown version), BAD_ARGUMENT (bad schema id). */
  encode(record: T, opts?: EncodeOptions): EncodedMessage;
  /**
   * Picks the writer schema from the `umbra-schema` header when present, else from the
   * Confluent prefix when a registry is given, and resolves it to the latest schema.
   * Throws DECODE_FAILED, SCHEMA_UNKNOWN, VALIDATION_FAILED, or the registry's errors.
   */
  decode(value: Buffer | null, headers: MessageHeaders, registry?: SchemaRegistry): Promise<T>;
  /** Decodes raw Avro binary written with `writer` (no framing); the building block of `decode`. */
  decodeBinary(bytes: Buffer, writer: SchemaVersion | Type, context?: Record<string, unknown>): T;
}

export function createRecordCodec<T>(
  spec: RecordCodecSpec<T>,
  catalog: SchemaCatalog = schemaCatalog(),
): RecordCodec<T> {
  const { subject } = spec;
  const writerTypes = new WeakMap<SchemaRegistry, Map<number, Type>>();

  const fromAvroChecked = (raw: unknown, context: Record<string, unknown>): T => {
    const record = spec.fromAvro(raw as Record<string, unknown>);
    const problem = spec.check?.(record);
    if (problem) throw validationError(subject, problem, context);
    return record;
  };

  const decodeBinary = (
    bytes: Buffer,
    writer: SchemaVersion | Type,
    context: Record<string, unknown> = {},
  ): T => {
    const writerType = 'ref' in writer ? writer.type : writer;
    const raw = decodeAvro(bytes, writerType, catalog.latest(subject).type, {
      subject,
      ...context,
    });
    return fromAvroChecked(raw, context);
  };

  const registryWriter = async (registry: SchemaRegistry, id: number): Promise<Type> => {
    let byId = writerTypes.get(registry);
    if (!byId) {
      byId = new Map();
      writerTypes.set(registry, byId);
    }
    const cached = byId.get(id);
    if (cached) return cached;
    const text = await registry.getSchema(id);
    let type: Type;
    try {
      type = parseAvroSchema(JSON.parse(text));
    } catch (cause) {
      throw new UmbraError(
        'DECODE_FAILED',
        `schema id ${id} is not a valid Avro schema: ${(cause as Error).message}`,
        {
          context: { subject, schemaId: id },
          cause,
        },
      );
    }
    byId.set(id, type);
    return type;
  };

  return {
    subject,
    decodeBinary,

    encode(record, opts = { format: 'raw' }): EncodedMessage {
      const schema =
        opts.version === undefined ? catalog.latest(subject) : catalog.get(subject, opts.version);
      let avroRecord: Record<string, unknown>;
      try {
        avroRecord = spec.toAvro(record, schema.version);
      } catch (cause) {
        // Only a record of the wrong shape (from untyped callers) gets here.
        throw new UmbraError(
          'VALIDATION_FAILED',
          `${subject}: not a ${subject} record: ${(cause as Error).message}`,
          {
            context: { subject, field: '(record)' },
            cause,
          },
        );
      }
      // Avro's type checks first, so `check` sees fields of the right types.
      const bytes = encodeAvro(avroRecord, schema.type, subject);
      const problem = spec.check?.(record);
      if (problem) throw validationError(subject, problem);
      if (opts.format === 'confluent')
        return { value: confluentFrame(opts.schemaId, bytes), headers: {} };
      return { value: bytes, headers: { [SCHEMA_HEADER]: schema.ref } };
    },

    async decode(value, headers, registry) {
      if (value === null || value.length === 0) {
        throw new UmbraError('DECODE_FAILED', `${subject}: empty message value`, {
          context: { subject },
        });
      }
      // The header wins: it names the writer exactly, while a leading 0 byte is also legal raw Avro.
      const ref = headerText(headers, SCHEMA_HEADER);
      if (ref !== undefined) {
        let writer: SchemaVersion;
        try {
          writer = catalog.byRef(ref);
        } catch (cause) {
          if (!isUmbraError(cause, 'SCHEMA_UNKNOWN')) throw cause;
          throw new UmbraError(
            'SCHEMA_UNKNOWN',
            `${subject}: unknown writer schema ${JSON.stringify(ref)} in header ${SCHEMA_HEADER}`,
            {
              context: { subject, header: ref },
              cause,
            },
          );
        }
        if (writer.subject !== subject) {
          throw new UmbraError(
            'SCHEMA_UNKNOWN',
            `${subject}: header ${SCHEMA_HEADER} names ${ref}, a different record`,
            {
              context: { subject, header: ref },
            },
          );
        }
        return decodeBinary(value, writer, { format: 'raw', writer: ref });
      }
      if (value[0] === CONFLUENT_MAGIC && registry) {
        if (value.length <= CONFLUENT_PREFIX) {
          throw new UmbraError(
            'DECODE_FAILED',
            `${subject}: Confluent-framed value of ${value.length} bytes is too short`,
            {
              context: { subject, format: 'confluent', bytes: value.length },
            },
          );
        }
        const schemaId = value.readUInt32BE(1);
        const writer = await registryWriter(registry, schemaId);
        return decodeBinary(value.subarray(CONFLUENT_PREFIX), writer, {
          format: 'confluent',
          schemaId,
        });
      }
      throw new UmbraError(
        'SCHEMA_UNKNOWN',
        value[0] === CONFLUENT_MAGIC
          ? `${subject}: no ${SCHEMA_HEADER} header, and the value looks Confluent-framed but no schema registry is configured`
          : `${subject}: no ${SCHEMA_HEADER} header and no Confluent framing: cannot tell the writer schema`,
        { context: { subject } },
      );
    },
  };
}
