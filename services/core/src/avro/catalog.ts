import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import avro from 'avsc';
import type { Type } from 'avsc';
import { UmbraError } from '../errors.ts';

/** The repository's `schemas/` directory, found from this file so it works from any cwd. */
export const SCHEMA_DIR = fileURLToPath(new URL('../../../../schemas/', import.meta.url));

/** Kafka header naming the writer schema of a raw Avro value, e.g. `RequestEvent.v2`. */
export const SCHEMA_HEADER = 'umbra-schema';

/** One version of one contract in `schemas/`. */
export interface SchemaVersion {
  /** The record name without namespace, e.g. `RequestEvent`. */
  readonly subject: string;
  readonly version: number;
  /** `RequestEvent.v2`: the value of the `umbra-schema` header. */
  readonly ref: string;
  readonly type: Type;
  /** The schema as compact JSON text (docs and logical types kept), as sent to a schema registry. */
  readonly text: string;
}

export interface SchemaCatalog {
  subjects(): string[];
  /** Every version of `subject`, oldest first; empty when unknown. */
  versions(subject: string): readonly SchemaVersion[];
  /** Throws SCHEMA_UNKNOWN. */
  get(subject: string, version: number): SchemaVersion;
  /** The newest version: the reader schema every decoder resolves to. Throws SCHEMA_UNKNOWN. */
  latest(subject: string): SchemaVersion;
  /** Looks up a header value such as `RequestEvent.v2`. Throws SCHEMA_UNKNOWN. */
  byRef(ref: string): SchemaVersion;
}

/** `Subject.vN.avsc`, or `Subject.avsc` for a contract that has only ever had version 1. */
const FILE_NAME = /^([A-Za-z_][A-Za-z0-9_]*)(?:\.v([1-9][0-9]*))?\.avsc$/;
const REF = /^([A-Za-z_][A-Za-z0-9_]*)\.v([1-9][0-9]*)$/;

/**
 * Avro types as umbra builds them. No logical types are registered, so `timestamp-millis`
 * longs decode to epoch-millisecond numbers (not Dates); unions of null and one type decode
 * to the bare value.
 */
export function parseAvroSchema(schema: unknown): Type {
  return avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0], {
    wrapUnions: 'auto',
  });
}

export function formatRef(subject: string, version: number): string {
  return `${subject}.v${version}`;
}

/** Splits `RequestEvent.v2`; undefined when the text is not of that shape. */
export function parseRef(ref: string): { subject: string; version: number } | undefined {
  const m = REF.exec(ref);
  return m ? { subject: m[1]!, version: Number(m[2]) } : undefined;
}

/** Reads every `.avsc` in `dir`; a file that does not parse, or whose record name differs from its file name, fails the load. */
export function loadSchemaCatalog(dir: string = SCHEMA_DIR): SchemaCatalog {
  const bySubject = new Map<string, SchemaVersion[]>();
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.avsc'));
  } catch (cause) {
    throw new UmbraError('SCHEMA_UNKNOWN', `cannot read the schema directory ${dir}`, {
      context: { dir },
      cause,
    });
  }
  for (const file of files.sort()) {
    const m = FILE_NAME.exec(file);
    if (!m) {
      throw new UmbraError('SCHEMA_UNKNOWN', `${file}: expected a name like Subject.v1.avsc`, {
        context: { dir, file },
      });
    }
    const subject = m[1]!;
    const version = m[2] === undefined ? 1 : Number(m[2]);
    let parsed: unknown;
    let type: Type;
    try {
      parsed = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      type = parseAvroSchema(parsed);
    } catch (cause) {
      throw new UmbraError(
        'SCHEMA_UNKNOWN',
        `${file}: not a valid Avro schema (${(cause as Error).message})`,
        {
          context: { dir, file },
          cause,
        },
      );
    }
    const shortName = type.name?.split('.').pop();
    if (shortName !== subject) {
      throw new UmbraError(
        'SCHEMA_UNKNOWN',
        `${file}: record name ${type.name ?? '(none)'} does not match the file name`,
        {
          context: { dir, file },
        },
      );
    }
    const list = bySubject.get(subject) ?? [];
    if (list.some((v) => v.version === version)) {
      throw new UmbraError(
        'SCHEMA_UNKNOWN',
        `${file}: ${formatRef(subject, version)} is defined twice`,
        { context: { dir, file } },
      );
    }
    list.push(
      Object.freeze({
        subject,
        version,
        ref: formatRef(subject, version),
        type,
        text: JSON.stringify(parsed),
      }),
    );
    bySubject.set(subject, list);
  }
  for (const list of bySubject.values()) list.sort((a, b) => a.version - b.version);

  const versions = (subject: string): readonly SchemaVersion[] => bySubject.get(subject) ?? [];
  const get = (subject: string, version: number): SchemaVersion => {
    const found = versions(subject).find((v) => v.version === version);
    if (!found) {
      throw new UmbraError('SCHEMA_UNKNOWN', `no schema ${formatRef(subject, version)} in ${dir}`, {
        context: { subject, version, known: versions(subject).map((v) => v.ref) },
      });
    }
    return found;
  };
  return {
    subjects: () => [...bySubject.keys()],
    versions,
    get,
    latest(subject) {
      const list = versions(subject);
      const last = list[list.length - 1];
      if (!last)
        throw new UmbraError('SCHEMA_UNKNOWN', `no schema for ${subject} in ${dir}`, {
          context: { subject },
        });
      return last;
    },
    byRef(ref) {
      const parsed = parseRef(ref);
      if (!parsed) {
        throw new UmbraError(
          'SCHEMA_UNKNOWN',
          `schema reference ${JSON.stringify(ref)} is not of the form Subject.vN`,
          {
            context: { ref },
          },
        );
      }
      return get(parsed.subject, parsed.version);
    },
  };
}

let defaultCatalog: SchemaCatalog | undefined;

/** The catalog of the repository's `schemas/`, loaded on first use. */
export function schemaCatalog(): SchemaCatalog {
  defaultCatalog ??= loadSchemaCatalog();
  return defaultCatalog;
}
