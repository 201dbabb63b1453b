import { writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { isUmbraError, UmbraError } from '@umbra/core';
import {
  discoverSegmentKeys,
  experimentExists,
  listExperiments,
  renderHtml,
  renderJson,
  renderTable,
  runReport,
  withLiveArms,
  storeReport,
  type Report,
} from '@umbra/comparator';
import { openClickHouse, startup, type GlobalOptions } from '../runtime.ts';

export const REPORT_FORMATS = ['table', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Without --since or --from, a report covers the last 24 hours. */
export const DEFAULT_SINCE_MS = 24 * 3_600_000;

export interface ReportCliOptions {
  experiment?: string;
  candidate?: string;
  since?: string;
  from?: string;
  to?: string;
  segments?: string;
  format?: string;
  out?: string;
}

export interface ReportArgs {
  experiment: string;
  candidate: string | undefined;
  from: number;
  to: number;
  /** undefined: every attribute key present in the window (capped). */
  segmentKeys: string[] | undefined;
  format: ReportFormat;
  out: string | undefined;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

function badArgument(flag: string, message: string): UmbraError {
  return new UmbraError('BAD_ARGUMENT', `${flag}: ${message}`, { context: { flag } });
}

/** "90s", "15m", "1h", "1h30m", "7d" → milliseconds. */
export function parseDuration(text: string, flag = '--since'): number {
  const trimmed = text.trim();
  const part = /(\d+(?:\.\d+)?)(ms|min|s|m|h|d|w)/gy;
  let total = 0;
  let matched = 0;
  for (let m = part.exec(trimmed); m; m = part.exec(trimmed)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = part.lastIndex;
  }
  if (trimmed === '' || matched !== trimmed.length) {
    throw badArgument(flag, `${JSON.stringify(text)} is not a duration; use a number and a unit (ms, s, m, h, d, w), e.g. 30m, 1h, 24h, 7d`);
  }
  if (!(total > 0)) throw badArgument(flag, `${JSON.stringify(text)} is not a positive duration`);
  return total;
}

/** An ISO 8601 time; without a zone it is read as UTC, so the same text means the same instant everywhere. */
export function parseTime(text: string, flag: string): number {
  const trimmed = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i.test(trimmed)) {
    throw badArgument(flag, `${JSON.stringify(text)} is not an ISO 8601 time; use e.g. 2025-11-27T09:00:00Z`);
  }
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(trimmed) && /[T ]/.test(trimmed);
  const iso = trimmed.replace(' ', 'T') + (hasZone || !/[T ]/.test(trimmed) ? '' : 'Z');
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw badArgument(flag, `${JSON.stringify(text)} is not a valid time`);
  return ms;
}

/** Checks every flag before anything is opened, so a typo costs nothing and exits 2. */
export function parseReportArgs(opts: ReportCliOptions, now: number): ReportArgs {
  const experiment = opts.experiment?.trim();
  if (!experiment) {
    throw new UmbraError('BAD_ARGUMENT', '--experiment is required: the experiment to report on, e.g. umbra report --experiment NAME', { context: { flag: '--experiment' } });
  }
  const format = (opts.format ?? 'table').trim().toLowerCase();
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
    throw badArgument('--format', `unknown format ${JSON.stringify(opts.format)}; use one of ${REPORT_FORMATS.join(', ')}`);
  }
  if (opts.since !== undefined && (opts.from !== undefined || opts.to !== undefined)) {
    throw badArgument('--since', 'use either --since or --from/--to, not both');
  }
  let from: number;
  let to: number;
  if (opts.since !== undefined) {
    to = now;
    from = now - parseDuration(opts.since, '--since');
  } else {
    to = opts.to !== undefined ? parseTime(opts.to, '--to') : now;
    from = opts.from !== undefined ? parseTime(opts.from, '--from') : to - DEFAULT_SINCE_MS;
  }
  if (from >= to) {
    throw badArgument('--from', `${new Date(from).toISOString()} is not before --to ${new Date(to).toISOString()}; the window must not be empty`);
  }
  let segmentKeys: string[] | undefined;
  if (opts.segments !== undefined) {
    segmentKeys = [...new Set(opts.segments.split(',').map((s) => s.trim()).filter(Boolean))];
    if (segmentKeys.length === 0) throw badArgument('--segments', 'give attribute keys separated by commas, e.g. region,client');
  }
  const candidate = opts.candidate?.trim();
  if (opts.candidate !== undefined && !candidate) throw badArgument('--candidate', 'must not be empty');
  const out = opts.out?.trim();
  if (opts.out !== undefined && !out) throw badArgument('--out', 'must not be empty');
  return { experiment, candidate, from, to, segmentKeys, format: format as ReportFormat, out };
}

/** ./umbra-report-<experiment>-<UTC timestamp>.html, with the name made safe for a file system. */
export function defaultHtmlPath(experiment: string, now: number, dir = process.cwd()): string {
  const safe = experiment.replace(/[^A-Za-z0-9._-]+/g, '_');
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return resolvePath(dir, `umbra-report-${safe}-${stamp}.html`);
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('compute agreement, latency and drift reports for an experiment, store them, and print or write them')
    .option('--experiment <name>', 'the experiment to report on (required)')
    .option('--candidate <name>', 'only this candidate (default: every candidate and the A/A noise run)')
    .option('--since <duration>', 'window: the last 30m, 1h, 24h, 7d ... up to now (default 24h)')
    .option('--from <iso>', 'window start, ISO 8601 (UTC when no zone is given); with --to instead of --since')
    .option('--to <iso>', 'window end, ISO 8601 (default now)')
    .option('--segments <keys>', 'attribute keys to slice by, comma-separated (default: the keys present in the window)')
    .option('--format <format>', `output: ${REPORT_FORMATS.join(' | ')}`, 'table')
    .option('--out <file>', 'write the report to this file and print its path (html default: ./umbra-report-<experiment>-<time>.html)')
    .action(async (opts: ReportCliOptions, cmd: Command) => {
      const now = Date.now();
      const args = parseReportArgs(opts, now);
      const { config, logger } = startup(cmd.optsWithGlobals<GlobalOptions>(), 'cli');
      const ch = await openClickHouse(config, logger);
      try {
        if (!(await experimentExists(ch, args.experiment))) {
          const known = (await listExperiments(ch)).map((e) => e.experiment);
          const list = known.length ? `known experiments: ${known.join(', ')}` : 'no experiment has pairs yet (run umbra replay or umbra demo first)';
          throw new UmbraError('NOT_FOUND', `unknown experiment ${JSON.stringify(args.experiment)}; ${list}`, {
            context: { experiment: args.experiment, known },
          });
        }
        const segmentKeys = args.segmentKeys ?? (await discoverSegmentKeys(ch, { experiment: args.experiment, from: args.from, to: args.to }));
        let reports: Report[];
        try {
          const pairReports = runReport(ch, {
            experiment: args.experiment,
            ...(args.candidate ? { candidate: args.candidate } : {}),
            from: args.from,
            to: args.to,
            segmentKeys,
          });
          // The live arms of the experiment's model, when its traffic was split in the window,
          // computed beside the pair reports.
          reports = args.candidate
            ? await pairReports
            : await withLiveArms(ch, pairReports, { experiment: args.experiment, from: args.from, to: args.to, segmentKeys });
        } catch (err) {
          // Name the candidates there are, so the next try is the right one.
          const candidates = isUmbraError(err, 'NOT_FOUND') ? err.context.candidates : undefined;
          if (args.candidate && Array.isArray(candidates)) {
            throw new UmbraError('NOT_FOUND', `experiment ${JSON.stringify(args.experiment)} has no candidate ${JSON.stringify(args.candidate)}; its candidates: ${[...candidates].map(String).sort().join(', ')}`, {
              context: { experiment: args.experiment, candidate: args.candidate, candidates },
              cause: err,
            });
          }
          throw err;
        }
        for (const report of reports) await storeReport(ch, report);
        logger.debug({ reports: reports.length, metrics: reports.reduce((s, r) => s + r.metrics.length, 0) }, 'reports stored in comparison_reports');

        const render = { now, experiment: args.experiment };
        const text = args.format === 'json' ? renderJson(reports, render) : args.format === 'html' ? renderHtml(reports, render) : renderTable(reports, render);
        const out = args.out ? resolvePath(args.out) : args.format === 'html' ? defaultHtmlPath(args.experiment, now) : undefined;
        if (out) {
          writeFileSync(out, text);
          process.stdout.write(`${out}\n`);
        } else {
          process.stdout.write(text);
        }
      } finally {
        await ch.close();
      }
    });
}
