import { describe, expect, it } from 'vitest';
import { isUmbraError } from '../../errors.ts';
import { outputSpecSchema, parseOutputSpec } from './spec.ts';

function configError(input: unknown): {
  message: string;
  issues: { key: string; message: string }[];
} {
  try {
    parseOutputSpec(input);
  } catch (e) {
    if (!isUmbraError(e, 'CONFIG_INVALID')) throw e;
    return {
      message: e.message,
      issues: e.context['issues'] as { key: string; message: string }[],
    };
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('outputSpecSchema', () => {
  it('fills the defaults of every task', () => {
    expect(parseOutputSpec({ task: 'classification', label: '$.label' })).toEqual({
      task: 'classification',
      label: '$.label',
      score: null,
      scoreTolerance: 0,
    });
    expect(parseOutputSpec({ task: 'regression', value: '$.y' })).toEqual({
      task: 'regression',
      value: '$.y',
      atol: 0,
      rtol: 0.01,
    });
    expect(parseOutputSpec({ task: 'ranking', ranking: '$.items' })).toEqual({
      task: 'ranking',
      ranking: '$.items',
      idField: null,
      k: 10,
      rboP: 0.9,
    });
    expect(parseOutputSpec({ task: 'structured' })).toEqual({
      task: 'structured',
      root: '$',
      floatTolerance: 1e-9,
      ignoreArrayOrder: false,
      ignorePaths: [],
    });
  });

  it('keeps given values', () => {
    const spec = { task: 'ranking', ranking: '$.r', idField: 'id', k: 5, rboP: 0.5 };
    expect(parseOutputSpec(spec)).toEqual(spec);
  });

  it('accepts its own output (a resolved spec parses to itself)', () => {
    const resolved = parseOutputSpec({ task: 'classification', label: '$.l' });
    expect(parseOutputSpec(resolved)).toEqual(resolved);
  });

  it('rejects unknown keys and tasks', () => {
    expect(configError({ task: 'classification', label: '$.l', lable: '$.x' }).message).toMatch(
      /lable/,
    );
    expect(configError({ task: 'clustering' }).issues[0]?.key).toBe('outputSpec.task');
    expect(outputSpecSchema.safeParse({ label: '$.l' }).success).toBe(false);
  });

  it('rejects bad paths, naming the key', () => {
    const e = configError({ task: 'classification', label: 'label' });
    expect(e.issues[0]?.key).toBe('outputSpec.label');
    expect(e.message).toMatch(/starts with '\$'/);
    expect(
      configError({ task: 'structured', ignorePaths: ['$.ok', '$..bad'] }).issues[0]?.key,
    ).toBe('outputSpec.ignorePaths.1');
    expect(configError({ task: 'ranking', ranking: '$.r', idField: '$.[' }).issues[0]?.key).toBe(
      'outputSpec.idField',
    );
  });

  it('allows wildcards in ignorePaths only', () => {
    expect(parseOutputSpec({ task: 'structured', ignorePaths: ['$.items[*].ts'] })).toMatchObject({
      ignorePaths: ['$.items[*].ts'],
    });
    expect(configError({ task: 'structured', root: '$.x[*]' }).message).toMatch(/wildcards/);
    expect(configError({ task: 'regression', value: '$.*' }).message).toMatch(/wildcards/);
  });

  it.each([
    [{ task: 'regression', value: '$.y', atol: -1 }, 'outputSpec.atol'],
    [{ task: 'regression', value: '$.y', rtol: Number.POSITIVE_INFINITY }, 'outputSpec.rtol'],
    [{ task: 'classification', label: '$.l', scoreTolerance: -0.1 }, 'outputSpec.scoreTolerance'],
    [{ task: 'ranking', ranking: '$.r', k: 0 }, 'outputSpec.k'],
    [{ task: 'ranking', ranking: '$.r', k: 2.5 }, 'outputSpec.k'],
    [{ task: 'ranking', ranking: '$.r', rboP: 1 }, 'outputSpec.rboP'],
    [{ task: 'ranking', ranking: '$.r', rboP: 0 }, 'outputSpec.rboP'],
    [{ task: 'ranking', ranking: '$.r', idField: '' }, 'outputSpec.idField'],
    [{ task: 'structured', floatTolerance: -1e-9 }, 'outputSpec.floatTolerance'],
    [{ task: 'structured', ignoreArrayOrder: 'yes' }, 'outputSpec.ignoreArrayOrder'],
  ])('rejects out-of-range values: %j', (input, key) => {
    expect(configError(input).issues.map((i) => i.key)).toContain(key);
  });

  it('names keys under the caller’s prefix', () => {
    try {
      parseOutputSpec({ task: 'ranking', ranking: '$.r', k: 0 }, 'experiments.0.output');
    } catch (e) {
      expect((e as Error).message).toMatch(/^experiments\.0\.output\.k: /);
    }
    expect.assertions(1);
  });
});
