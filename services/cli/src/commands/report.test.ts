import { describe, expect, it } from 'vitest';
import { isUmbraError } from '@umbra/core';
import { DEFAULT_SINCE_MS, defaultHtmlPath, parseDuration, parseReportArgs, parseTime } from './report.ts';

const NOW = Date.UTC(2025, 10, 27, 10, 0, 0);

function badArgument(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isUmbraError(e, 'BAD_ARGUMENT')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected BAD_ARGUMENT');
}

describe('parseDuration', () => {
  it('reads a number and a unit, or several', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('15min')).toBe(900_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('0.5h')).toBe(1_800_000);
  });

  it('names the flag and shows examples when it cannot', () => {
    expect(badArgument(() => parseDuration('an hour'))).toBe('--since: "an hour" is not a duration; use a number and a unit (ms, s, m, h, d, w), e.g. 30m, 1h, 24h, 7d');
    expect(badArgument(() => parseDuration('1'))).toContain('--since: "1" is not a duration');
    expect(badArgument(() => parseDuration('1h '.repeat(2)))).toContain('is not a duration');
    expect(badArgument(() => parseDuration('0h'))).toBe('--since: "0h" is not a positive duration');
  });
});

describe('parseTime', () => {
  it('reads ISO 8601, as UTC when no zone is given', () => {
    expect(parseTime('2025-11-27T09:00:00Z', '--from')).toBe(Date.UTC(2025, 10, 27, 9));
    expect(parseTime('2025-11-27T09:00', '--from')).toBe(Date.UTC(2025, 10, 27, 9));
    expect(parseTime('2025-11-27 09:00:00', '--from')).toBe(Date.UTC(2025, 10, 27, 9));
    expect(parseTime('2025-11-27T11:00:00+02:00', '--from')).toBe(Date.UTC(2025, 10, 27, 9));
    expect(parseTime('2025-11-27', '--from')).toBe(Date.UTC(2025, 10, 27));
  });

  it('rejects anything else, naming the flag', () => {
    expect(badArgument(() => parseTime('yesterday', '--to'))).toBe('--to: "yesterday" is not an ISO 8601 time; use e.g. 2025-11-27T09:00:00Z');
    expect(badArgument(() => parseTime('2025-13-45T00:00:00Z', '--from'))).toContain('--from: "2025-13-45T00:00:00Z" is not a valid time');
  });
});

describe('parseReportArgs', () => {
  it('defaults to a table of the last 24 h over the segments found in the window', () => {
    expect(parseReportArgs({ experiment: 'exp' }, NOW)).toEqual({
      experiment: 'exp',
      candidate: undefined,
      from: NOW - DEFAULT_SINCE_MS,
      to: NOW,
      segmentKeys: undefined,
      format: 'table',
      out: undefined,
    });
  });

  it('takes --since relative to now, or --from/--to', () => {
    expect(parseReportArgs({ experiment: 'e', since: '1h' }, NOW)).toMatchObject({ from: NOW - 3_600_000, to: NOW });
    expect(parseReportArgs({ experiment: 'e', from: '2025-11-27T08:00:00Z' }, NOW)).toMatchObject({ from: Date.UTC(2025, 10, 27, 8), to: NOW });
    expect(parseReportArgs({ experiment: 'e', to: '2025-11-27T08:00:00Z' }, NOW)).toMatchObject({ from: Date.UTC(2025, 10, 26, 8), to: Date.UTC(2025, 10, 27, 8) });
  });

  it('reads segments, candidate, format and out', () => {
    expect(parseReportArgs({ experiment: 'e', segments: ' region, client,region ', candidate: 'v2', format: 'HTML', out: 'r.html' }, NOW)).toMatchObject({
      segmentKeys: ['region', 'client'],
      candidate: 'v2',
      format: 'html',
      out: 'r.html',
    });
  });

  it('rejects bad arguments with a message naming the flag', () => {
    expect(badArgument(() => parseReportArgs({ experiment: 'e', format: 'pdf' }, NOW))).toBe('--format: unknown format "pdf"; use one of table, json, html');
    expect(badArgument(() => parseReportArgs({ experiment: 'e', from: '2025-11-27T10:00:00Z', to: '2025-11-27T09:00:00Z' }, NOW))).toBe(
      '--from: 2025-11-27T10:00:00.000Z is not before --to 2025-11-27T09:00:00.000Z; the window must not be empty',
    );
    expect(badArgument(() => parseReportArgs({ experiment: 'e', since: '1h', from: '2025-11-27T09:00:00Z' }, NOW))).toBe('--since: use either --since or --from/--to, not both');
    expect(badArgument(() => parseReportArgs({ experiment: 'e', since: 'soon' }, NOW))).toContain('--since: "soon" is not a duration');
    expect(badArgument(() => parseReportArgs({ experiment: ' ' }, NOW))).toContain('--experiment is required');
    expect(badArgument(() => parseReportArgs({ experiment: 'e', segments: ',' }, NOW))).toContain('--segments');
  });
});

describe('defaultHtmlPath', () => {
  it('names the file after the experiment and the time, safe for a file system', () => {
    expect(defaultHtmlPath('credit risk/v2', NOW, '/tmp')).toBe('/tmp/umbra-report-credit_risk_v2-20251127T100000Z.html');
  });
});
