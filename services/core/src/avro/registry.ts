import { request, type Dispatcher } from 'undici';
import { UmbraError } from '../errors.ts';

/** Where Confluent-framed messages find their writer schema: schema id → Avro schema JSON text. */
export interface SchemaRegistry {
  /** The schema registered under `id`. Throws SCHEMA_UNKNOWN for an id the registry does not have. */
  getSchema(id: number): Promise<string>;
  /** Registers `schema` under `subject` (a no-op when already there) and returns its id. */
  register(subject: string, schema: string): Promise<number>;
}

/** Compact JSON, so the same schema written with other whitespace is the same entry. */
function normalize(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema));
  } catch (cause) {
    throw new UmbraError('BAD_ARGUMENT', `schema is not JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/**
 * A registry held in memory: for tests, and for users who pin schema ids instead of running a
 * registry. `register` returns the id of an identical schema, else the next free id.
 */
export function createStaticSchemaRegistry(
  schemas: ReadonlyMap<number, string> | Readonly<Record<number, string>> = {},
): SchemaRegistry {
  const byId = new Map<number, string>();
  const entries =
    schemas instanceof Map
      ? [...schemas.entries()]
      : Object.entries(schemas).map(([id, s]) => [Number(id), s] as const);
  for (const [id, schema] of entries) byId.set(id, normalize(schema as string));
  return {
    async getSchema(id) {
      const schema = byId.get(id);
      if (schema === undefined) {
        throw new UmbraError('SCHEMA_UNKNOWN', `schema id ${id} is not in the static registry`, {
          context: { schemaId: id, known: [...byId.keys()] },
        });
      }
      return schema;
    },
    async register(_subject, schema) {
      const text = normalize(schema);
      for (const [id, known] of byId) if (known === text) return id;
      const id = Math.max(0, ...byId.keys()) + 1;
      byId.set(id, text);
      return id;
    },
  };
}

export interface ConfluentSchemaRegistryOptions {
  /** Base URL, e.g. `http://registry:8081`. */
  url: string;
  /** HTTP basic auth (Confluent Cloud: API key and secret). */
  username?: string;
  password?: string;
  /** Milliseconds to wait for the registry's headers and body; default 10 000. */
  timeoutMs?: number;
  /** An undici Agent or Pool to send through; default the global dispatcher. */
  dispatcher?: Dispatcher;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * A Confluent Schema Registry client (the REST API of Confluent, Karapace and Redpanda).
 * Schemas by id are immutable in the registry, so they are cached for the life of the client.
 * Failures: SCHEMA_UNKNOWN (id not found), REGISTRY_FAILED with `retriable` set for network
 * errors, timeouts, 408/429 and 5xx, and unset for refusals such as 401, 409 or 422.
 */
export function createConfluentSchemaRegistry(
  opts: ConfluentSchemaRegistryOptions,
): SchemaRegistry {
  const base = opts.url.replace(/\/+$/, '');
  const timeout = opts.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { accept: `${CONTENT_TYPE}, application/json` };
  if (opts.username !== undefined || opts.password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${opts.username ?? ''}:${opts.password ?? ''}`).toString('base64')}`;
  }
  const byId = new Map<number, Promise<string>>();
  const registered = new Map<string, Promise<number>>();

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const url = `${base}${path}`;
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': CONTENT_TYPE },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (cause) {
      throw new UmbraError(
        'REGISTRY_FAILED',
        `schema registry ${method} ${path}: ${(cause as Error).message}`,
        {
          retriable: true,
          context: { url: base, method, path },
          cause,
        },
      );
    }
    let json: unknown = undefined;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      // A proxy's HTML error page: the status decides below.
    }
    if (status >= 200 && status < 300 && json === undefined) {
      throw new UmbraError(
        'REGISTRY_FAILED',
        `schema registry ${method} ${path}: answer is not JSON`,
        {
          context: { url: base, method, path, status },
        },
      );
    }
    return { status, json };
  }

  function failure(method: string, path: string, status: number, json: unknown): UmbraError {
    const body = (json ?? {}) as { error_code?: unknown; message?: unknown };
    const message = typeof body.message === 'string' ? body.message : `HTTP ${status}`;
    return new UmbraError('REGISTRY_FAILED', `schema registry ${method} ${path}: ${message}`, {
      retriable: status === 408 || status === 429 || status >= 500,
      context: { url: base, method, path, status, errorCode: body.error_code },
    });
  }

  async function fetchSchema(id: number): Promise<string> {
    const path = `/schemas/ids/${id}`;
    const { status, json } = await call('GET', path);
    if (status === 404) {
      throw new UmbraError('SCHEMA_UNKNOWN', `schema id ${id} is not in the registry at ${base}`, {
        context: {
          url: base,
          schemaId: id,
          errorCode: (json as { error_code?: unknown } | undefined)?.error_code,
        },
      });
    }
    if (status < 200 || status >= 300) throw failure('GET', path, status, json);
    const answer = json as { schema?: unknown; schemaType?: unknown };
    if (answer.schemaType !== undefined && answer.schemaType !== 'AVRO') {
      throw new UmbraError(
        'SCHEMA_UNKNOWN',
        `schema id ${id} is a ${String(answer.schemaType)} schema, not Avro`,
        {
          context: { url: base, schemaId: id, schemaType: answer.schemaType },
        },
      );
    }
    if (typeof answer.schema !== 'string') {
      throw new UmbraError('REGISTRY_FAILED', `schema registry GET ${path}: answer has no schema`, {
        context: { url: base, path },
      });
    }
    return answer.schema;
  }

  async function postSchema(subject: string, schema: string): Promise<number> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions`;
    const { status, json } = await call('POST', path, { schema });
    if (status < 200 || status >= 300) throw failure('POST', path, status, json);
    const id = (json as { id?: unknown }).id;
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      throw new UmbraError('REGISTRY_FAILED', `schema registry POST ${path}: answer has no id`, {
        context: { url: base, path },
      });
    }
    return id;
  }

  // Promises are cached so concurrent lookups of one id make one request; failures are forgotten.
  function cached<K, V>(map: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
    const hit = map.get(key);
    if (hit) return hit;
    const p = load();
    map.set(key, p);
    p.catch(() => map.delete(key));
    return p;
  }

  return {
    getSchema(id) {
      return cached(byId, id, () => fetchSchema(id));
    },
    async register(subject, schema) {
      const text = normalize(schema);
      return cached(registered, `${subject}\n${text}`, async () => {
        const id = await postSchema(subject, text);
        if (!byId.has(id)) byId.set(id, Promise.resolve(text));
        return id;
      });
    },
  };
}
