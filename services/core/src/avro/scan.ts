import type { Type } from 'avsc';

/**
 * A structural check of Avro binary before avsc decodes it. avsc trusts array and map block
 * counts: a corrupt count such as 2^40 makes it loop for hours on a 10-byte message, stalling
 * the partition instead of dead-lettering the event. The scan walks the writer schema once,
 * allocating nothing, and rejects counts and lengths the remaining bytes cannot hold.
 */
export class AvroScanError extends Error {
  /** True when the bytes ended early (more may come on a stream); false when they are malformed. */
  readonly truncated: boolean;
  constructor(message: string, truncated: boolean) {
    super(message);
    this.name = 'AvroScanError';
    this.truncated = truncated;
  }
}

type Scan = (buf: Buffer, pos: number) => number;

const MAX_VARINT_BYTES = 10;
// Items of a zero-byte type (null, empty record) cost avsc time but no bytes; cap how many.
const MAX_EMPTY_ITEMS = 1_000_000;

/** A zig-zag varint; the value may be imprecise beyond 2^53, which only the bounds below see. */
function readLong(buf: Buffer, pos: number): [value: number, next: number] {
  let n = 0;
  let mul = 1;
  let i = pos;
  let b: number;
  do {
    if (i >= buf.length) throw new AvroScanError(`truncated varint at byte ${pos}`, true);
    if (i - pos >= MAX_VARINT_BYTES)
      throw new AvroScanError(`varint longer than 10 bytes at byte ${pos}`, false);
    b = buf[i++]!;
    n += (b & 0x7f) * mul;
    mul *= 128;
  } while (b & 0x80);
  return [n % 2 === 0 ? n / 2 : -(n + 1) / 2, i];
}

function need(buf: Buffer, pos: number, bytes: number): number {
  if (pos + bytes > buf.length)
    throw new AvroScanError(`truncated: ${bytes} bytes needed at byte ${pos}`, true);
  return pos + bytes;
}

interface Compiled {
  scan: Scan;
  /** The fewest bytes a value of the type takes. */
  min: number;
}

const compiled = new WeakMap<Type, Compiled>();

// avsc's type classes carry these; the public typings omit some.
interface TypeShape {
  typeName: string;
  fields?: { type: Type }[];
  types?: Type[];
  itemsType?: Type;
  valuesType?: Type;
  symbols?: string[];
  size?: number;
  underlyingType?: Type;
}

function compile(type: Type): Compiled {
  const hit = compiled.get(type);
  if (hit) return hit;
  // Recursive schemas refer back to a record being compiled: route through a forward reference.
  const forward: Compiled = { scan: (buf, pos) => result.scan(buf, pos), min: 0 };
  compiled.set(type, forward);
  const result = build(type as unknown as TypeShape);
  forward.min = result.min;
  compiled.set(type, result);
  return result;
}

function build(t: TypeShape): Compiled {
  switch (t.typeName) {
    case 'null':
      return { scan: (_buf, pos) => pos, min: 0 };
    case 'boolean':
      return { scan: (buf, pos) => need(buf, pos, 1), min: 1 };
    case 'int':
    case 'long':
      return { scan: (buf, pos) => readLong(buf, pos)[1], min: 1 };
    case 'float':
      return { scan: (buf, pos) => need(buf, pos, 4), min: 4 };
    case 'double':
      return { scan: (buf, pos) => need(buf, pos, 8), min: 8 };
    case 'string':
    case 'bytes':
      return { scan: scanBytes, min: 1 };
    case 'fixed': {
      const size = t.size ?? 0;
      return { scan: (buf, pos) => need(buf, pos, size), min: size };
    }
    case 'enum': {
      const symbols = t.symbols?.length ?? 0;
      return {
        scan: (buf, pos) => {
          const [i, next] = readLong(buf, pos);
          if (i < 0 || i >= symbols)
            throw new AvroScanError(`enum index ${i} out of range at byte ${pos}`, false);
          return next;
        },
        min: 1,
      };
    }
    case 'record':
    case 'error': {
      const fields = (t.fields ?? []).map((f) => compile(f.type));
      return {
        scan: (buf, pos) => {
          let p = pos;
          for (const f of fields) p = f.scan(buf, p);
          return p;
        },
        min: fields.reduce((sum, f) => sum + f.min, 0),
      };
    }
    case 'array':
      return blocks(compile(t.itemsType!));
    case 'map': {
      const value = compile(t.valuesType!);
      return blocks({
        scan: (buf, pos) => value.scan(buf, scanBytes(buf, pos)),
        min: 1 + value.min,
      });
    }
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches = (t.types ?? []).map(compile);
      return {
        scan: (buf, pos) => {
          const [i, next] = readLong(buf, pos);
          const branch = branches[i];
          if (!branch)
            throw new AvroScanError(`union index ${i} out of range at byte ${pos}`, false);
          return branch.scan(buf, next);
        },
        min: 1,
      };
    }
    default:
      if (t.typeName.startsWith('logical:') && t.underlyingType) return compile(t.underlyingType);
      throw new AvroScanError(`cannot scan Avro type ${t.typeName}`, false);
  }
}

function scanBytes(buf: Buffer, pos: number): number {
  const [len, next] = readLong(buf, pos);
  if (len < 0) throw new AvroScanError(`negative length ${len} at byte ${pos}`, false);
  return need(buf, next, len);
}

function blocks(item: Compiled): Compiled {
  return {
    scan: (buf, pos) => {
      let p = pos;
      for (;;) {
        const [blockCount, next] = readLong(buf, p);
        let count = blockCount;
        p = next;
        if (count === 0) return p;
        if (count < 0) {
          // A negative count is followed by the block's size in bytes.
          count = -count;
          p = readLong(buf, p)[1];
        }
        const limit = item.min === 0 ? MAX_EMPTY_ITEMS : (buf.length - p) / item.min;
        if (count > limit) {
          throw new AvroScanError(
            `block of ${count} items at byte ${pos} cannot fit in ${buf.length - p} bytes`,
            item.min > 0,
          );
        }
        for (let i = 0; i < count; i++) p = item.scan(buf, p);
      }
    },
    min: 1,
  };
}

/** Checks one value of `type` at `pos`; returns where it ends. Throws AvroScanError. */
export function scanAvro(type: Type, buf: Buffer, pos = 0): number {
  return compile(type).scan(buf, pos);
}
