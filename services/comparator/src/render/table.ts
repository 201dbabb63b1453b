/**
 * The terminal report: per candidate a verdict line, the key metrics (value, interval or p, n,
 * method), then the worst segments. Plain text, no colour codes, so it survives pipes and pagers.
 */
import {
  fmtCount,
  fmtDuration,
  fmtInterval,
  fmtMs,
  fmtNum,
  fmtP,
  fmtPct,
  fmtPctInterval,
  fmtRatio,
  fmtTime,
  NA,
  segmentLabel,
} from './format.ts';
import { buildView, featureName, fmtShift, labelOf, unitOf, type CandidateView, type RenderOptions, type Unit, type VerdictStatus } from './model.ts';
import type { MetricRow, Report } from './types.ts';

const STATUS_WORD: Record<VerdictStatus, string> = {
  ok: 'OK',
  worse: 'WORSE',
  inconclusive: 'INCONCLUSIVE',
  reference: 'A/A NOISE',
};

/** Lays out rows under a header; columns listed in `right` are right-aligned (numbers). */
export function layoutTable(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - [...c].length));
        return right.has(i) ? pad + c : c + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

type Kind = Unit;

function valueText(m: MetricRow | undefined, kind: Kind): string {
  if (!m) return NA;
  switch (kind) {
    case 'pct':
      return fmtPct(m.value);
    case 'ms':
      return fmtMs(m.value);
    case 'ratio':
      return fmtRatio(m.value);
    default:
      return fmtNum(m.value);
  }
}

/** The interval in the metric's unit, else its p-value: every row shows one or the other. */
function evidenceText(m: MetricRow | undefined, kind: Kind): string {
  if (!m) return '';
  if (m.lower !== null && m.upper !== null) {
    if (kind === 'pct') return fmtPctInterval(m.lower, m.upper);
    if (kind === 'ms') return fmtInterval(m.lower, m.upper, (v) => fmtMs(v).replace(' ms', '')) + ' ms';
    if (kind === 'ratio') return fmtInterval(m.lower, m.upper, (v) => v.toFixed(2));
    return fmtInterval(m.lower, m.upper);
  }
  return fmtP(m.p_value, m.p_adjusted);
}

function metricRow(label: string, m: MetricRow | undefined, kind: Kind = m ? unitOf(m.metric) : 'num'): string[] {
  return [label, valueText(m, kind), evidenceText(m, kind), m ? fmtCount(m.n) : '0', m?.method ?? ''];
}

function keyMetrics(v: CandidateView): string[][] {
  const rows: string[][] = [];
  if (v.agreement) rows.push(metricRow('agreement', v.agreement, 'pct'));
  if (v.noiseAgreement) rows.push(metricRow('  A/A noise agreement', v.noiseAgreement, 'pct'));
  for (const m of v.labelShifts) {
    rows.push([`label shift into ${JSON.stringify(labelOf(m))}`, fmtShift(m.value), [fmtPctInterval(m.lower, m.upper), fmtP(m.p_value, m.p_adjusted)].filter(Boolean).join(' '), fmtCount(m.n), m.method]);
  }
  for (const m of v.outputMetrics) rows.push(metricRow(m.metric.replace(/_/g, ' '), m));
  if (v.errorRate) rows.push(metricRow('candidate error rate', v.errorRate, 'pct'));
  if (v.timeoutRate) rows.push(metricRow('candidate timeout rate', v.timeoutRate, 'pct'));
  if (v.baselineErrorRate) rows.push(metricRow('baseline error rate', v.baselineErrorRate, 'pct'));
  // One line per quantile: both sides, the ratio and the difference read together.
  for (const l of v.latency) {
    const any = l.baseline ?? l.candidate ?? l.ratio ?? l.diff;
    if (!any) continue;
    const sides = `${fmtMs(l.baseline?.value).replace(' ms', '')} → ${fmtMs(l.candidate?.value)}`;
    const change = [l.ratio ? `${fmtRatio(l.ratio.value)}${evidenceText(l.ratio, 'ratio') ? ` ${evidenceText(l.ratio, 'ratio')}` : ''}` : '', l.diff ? `diff ${fmtMs(l.diff.value)}` : ''].filter(Boolean).join(', ');
    rows.push([`latency ${l.quantile} baseline → candidate`, sides, change, fmtCount(any.n), (l.candidate ?? any).method]);
  }
  for (const d of v.drift) {
    const name = `drift ${featureName(d.feature)}${d.against === 'baseline' ? '' : ' (vs ref. window)'}`;
    if (d.psi) rows.push(metricRow(`${name} PSI`, d.psi, 'num'));
    if (d.js) rows.push(metricRow(`${name} JS distance`, d.js, 'num'));
    if (d.ks) rows.push(metricRow(`${name} KS D`, d.ks, 'num'));
    if (d.wasserstein) rows.push(metricRow(`${name} Wasserstein`, d.wasserstein, 'num'));
  }
  for (const m of v.canary) rows.push(metricRow(`canary ${m.metric.replace(/_/g, ' ')}`, m));
  return rows;
}

function candidateBlock(v: CandidateView, top: number): string {
  const out: string[] = [];
  const title = v.role === 'noise' ? `${v.candidate} (A/A noise: baseline vs itself)` : v.candidate;
  out.push(`■ ${title}`);
  out.push(`  ${STATUS_WORD[v.verdict.status]}: ${v.verdict.summary}`);
  if (v.verdict.status !== 'reference') {
    for (const f of v.verdict.findings) {
      const mark = f.status === 'worse' ? '✗' : f.status === 'inconclusive' ? '?' : '✓';
      out.push(`    ${mark} ${f.text}`);
    }
  }
  out.push('');
  const indent = (text: string) => text.split('\n').map((l) => `  ${l}`).join('\n');
  const metrics = keyMetrics(v);
  if (metrics.length) out.push(indent(layoutTable(['metric', 'value', '95% interval / p', 'n', 'method'], metrics, new Set([1, 3]))));
  else out.push('  no metrics in this window');

  const segs = v.segments.filter((s) => s.agreement || s.shift).slice(0, top);
  if (segs.length) {
    out.push('');
    out.push(`  worst segments (lowest agreement lower bound first; ${segs.length} of ${v.segments.length})`);
    out.push(
      indent(
        layoutTable(
          ['segment', 'agreement', '95% interval', 'n', 'largest label shift', 'p'],
          segs.map((s) => [
            segmentLabel(s.key, s.value),
            fmtPct(s.agreement?.value),
            fmtPctInterval(s.agreement?.lower, s.agreement?.upper),
            fmtCount(s.agreement?.n ?? s.shift?.n ?? 0),
            s.shift ? `${fmtShift(s.shift.value)} ${JSON.stringify(labelOf(s.shift))}` : '',
            s.shift ? fmtP(s.shift.p_value, s.shift.p_adjusted) : '',
          ]),
          new Set([1, 3, 4]),
        ),
      ),
    );
  }

  const fields = v.fields.slice(0, top);
  if (fields.length) {
    out.push('');
    out.push(`  differing fields (highest rate first; ${fields.length} of ${v.fields.length})`);
    out.push(
      indent(
        layoutTable(
          ['field', 'rate', '95% interval', 'n', 'A/A noise', 'beyond noise'],
          fields.map((f) => [
            f.path,
            fmtPct(f.candidate.value),
            fmtPctInterval(f.candidate.lower, f.candidate.upper),
            fmtCount(f.candidate.n),
            f.noiseRate !== null ? `${fmtPct(f.noiseRate)} n=${fmtCount(f.noisePairs)}` : '',
            f.real === null ? '' : f.real ? 'yes' : 'no',
          ]),
          new Set([1, 3]),
        ),
      ),
    );
  }
  return out.join('\n');
}

export function renderTable(reports: readonly Report[], opts: RenderOptions = {}): string {
  const view = buildView(reports, opts);
  if (view.candidates.length === 0) return `no reports${view.experiment ? ` for experiment ${view.experiment}` : ''}: no pairs in this window\n`;
  const { from, to } = view.window;
  const head = `experiment ${view.experiment} — window ${fmtTime(from)} → ${fmtTime(to)} (${fmtDuration(to - from)}); intervals are 95 %`;
  const top = opts.topSegments ?? 10;
  return `${head}\n\n${view.candidates.map((c) => candidateBlock(c, top)).join('\n\n')}\n`;
}
