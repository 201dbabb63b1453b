import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaCatalog, parseRef, schemaCatalog } from './catalog.ts';
import { umbraFailure } from './test-helpers.ts';

const MIGRATIONS = fileURLToPath(new URL('../../../../sql/migrations/', import.meta.url));

/** Column names of the CREATE TABLE in a migration file. */
async function columns(file: string): Promise<string[]> {
  const sql = (await readFile(join(MIGRATIONS, file), 'utf8')).replace(/--.*$/gm, '');
  const create = sql.indexOf('CREATE TABLE');
  const body = sql.slice(sql.indexOf('(', create) + 1, sql.indexOf('\n)', create));
  return body
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[a-z_]+\s/.test(line))
    .map((line) => line.split(/\s+/)[0]!);
}

/** The columns an `ALTER TABLE ... ADD COLUMN` migration adds, in order. */
async function addedColumns(file: string): Promise<string[]> {
  const sql = (await readFile(join(MIGRATIONS, file), 'utf8')).replace(/--.*$/gm, '');
  return [...sql.matchAll(/ADD COLUMN (?:IF NOT EXISTS )?([a-z_]+)/g)].map((m) => m[1]!);
}

interface SchemaJson {
  fields: { name: string; doc?: string; type: unknown }[];
}

function fieldNames(text: string): string[] {
  return (JSON.parse(text) as SchemaJson).fields.map((f) => f.name);
}

describe('schema catalog', () => {
  const catalog = schemaCatalog();

  it('loads every contract, keyed by subject and version', () => {
    expect(catalog.subjects().sort()).toEqual([
      'ComparisonReport',
      'PromotionDecision',
      'RequestEvent',
      'ShadowResult',
    ]);
    expect(catalog.versions('RequestEvent').map((v) => v.ref)).toEqual([
      'RequestEvent.v1',
      'RequestEvent.v2',
    ]);
    expect(catalog.latest('RequestEvent').version).toBe(2);
    expect(catalog.byRef('ShadowResult.v1').type.name).toBe('dev.umbra.ShadowResult');
    expect(parseRef('RequestEvent.v12')).toEqual({ subject: 'RequestEvent', version: 12 });
    expect(parseRef('RequestEvent.v0')).toBeUndefined();
  });

  it('unknown subjects and versions are SCHEMA_UNKNOWN', async () => {
    expect((await umbraFailure(() => catalog.get('RequestEvent', 3))).code).toBe('SCHEMA_UNKNOWN');
    expect((await umbraFailure(() => catalog.latest('Nope'))).code).toBe('SCHEMA_UNKNOWN');
    expect((await umbraFailure(() => catalog.byRef('RequestEvent'))).code).toBe('SCHEMA_UNKNOWN');
  });

  it('RequestEvent v2 is v1 plus tap_sample_rate with a null default', () => {
    const v1 = JSON.parse(catalog.get('RequestEvent', 1).text) as SchemaJson;
    const v2 = JSON.parse(catalog.get('RequestEvent', 2).text) as SchemaJson;
    expect(v2.fields.slice(0, -1)).toEqual(v1.fields);
    expect(v2.fields.at(-1)).toMatchObject({
      name: 'tap_sample_rate',
      type: ['null', 'double'],
      default: null,
    });
  });

  it('keeps docs and logical types in the text sent to registries', () => {
    const text = catalog.get('RequestEvent', 1).text;
    expect(text).toContain('"logicalType":"timestamp-millis"');
    expect(text).toContain('"namespace":"dev.umbra"');
  });

  it('every field of every contract has a doc', () => {
    const undocumented: string[] = [];
    const visit = (schema: unknown, where: string): void => {
      if (Array.isArray(schema)) return schema.forEach((s) => visit(s, where));
      if (typeof schema !== 'object' || schema === null) return;
      const s = schema as { fields?: SchemaJson['fields']; items?: unknown; values?: unknown };
      for (const f of s.fields ?? []) {
        if (!f.doc) undocumented.push(`${where}.${f.name}`);
        visit(f.type, `${where}.${f.name}`);
      }
      visit(s.items, where);
      visit(s.values, where);
    };
    for (const subject of catalog.subjects())
      for (const v of catalog.versions(subject)) visit(JSON.parse(v.text), v.ref);
    expect(undocumented).toEqual([]);
  });
});

describe('contracts mirror the ClickHouse tables', () => {
  const catalog = schemaCatalog();

  it('ShadowResult has the columns of shadow_pairs, in order', async () => {
    expect(fieldNames(catalog.get('ShadowResult', 1).text)).toEqual(
      await columns('001_shadow_pairs.sql'),
    );
    expect(fieldNames(catalog.latest('ShadowResult').text)).toEqual([
      ...(await columns('001_shadow_pairs.sql')),
      ...(await addedColumns('009_pair_served.sql')),
    ]);
  });

  it('ComparisonReport plus its metric records has the columns of comparison_reports', async () => {
    const schema = JSON.parse(catalog.latest('ComparisonReport').text) as SchemaJson;
    const metric = schema.fields.find((f) => f.name === 'metrics')!.type as { items: SchemaJson };
    const names = [
      ...schema.fields.map((f) => f.name).filter((n) => n !== 'metrics'),
      ...metric.items.fields.map((f) => f.name),
    ];
    expect(names.sort()).toEqual((await columns('003_comparison_reports.sql')).sort());
  });

  it('PromotionDecision has the columns of promotion_decisions, in order', async () => {
    expect(fieldNames(catalog.latest('PromotionDecision').text)).toEqual(
      await columns('004_promotion_decisions.sql'),
    );
  });

  it('RequestEvent carries the columns of request_events (model split in two; ingested_at is added on insert)', async () => {
    const names = fieldNames(catalog.get('RequestEvent', 1).text).flatMap((n) =>
      n === 'model' ? ['model_name', 'model_version'] : [n],
    );
    expect(names).toEqual(
      (await columns('002_request_events.sql')).filter((c) => c !== 'ingested_at'),
    );
  });
});

describe('loadSchemaCatalog', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'umbra-schemas-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const record = (name: string): string =>
    JSON.stringify({ type: 'record', name, namespace: 'x', fields: [] });

  it('reads Subject.avsc as version 1 and Subject.vN.avsc as version N', async () => {
    const d = await mkdtemp(join(dir, 'ok-'));
    await writeFile(join(d, 'A.avsc'), record('A'));
    await writeFile(join(d, 'A.v2.avsc'), record('A'));
    await writeFile(join(d, 'README.md'), 'not a schema');
    expect(
      loadSchemaCatalog(d)
        .versions('A')
        .map((v) => v.version),
    ).toEqual([1, 2]);
  });

  it.each([
    ['a record name that differs from the file name', 'B.v1.avsc', record('C')],
    ['a file that is not JSON', 'B.v1.avsc', '{'],
    ['an invalid schema', 'B.v1.avsc', '{"type":"record"}'],
    ['a badly named file', 'b-1.avsc', record('B')],
  ])('fails on %s', async (_name, file, text) => {
    const d = await mkdtemp(join(dir, 'bad-'));
    await writeFile(join(d, file), text);
    expect((await umbraFailure(() => loadSchemaCatalog(d))).code).toBe('SCHEMA_UNKNOWN');
  });

  it('fails on a missing directory and on a version defined twice', async () => {
    expect((await umbraFailure(() => loadSchemaCatalog(join(dir, 'missing')))).code).toBe(
      'SCHEMA_UNKNOWN',
    );
    const d = await mkdtemp(join(dir, 'twice-'));
    await writeFile(join(d, 'A.avsc'), record('A'));
    await writeFile(join(d, 'A.v1.avsc'), record('A'));
    expect((await umbraFailure(() => loadSchemaCatalog(d))).code).toBe('SCHEMA_UNKNOWN');
  });
});
