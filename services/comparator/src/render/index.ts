export { renderTable, layoutTable } from './table.ts';
export { renderJson, toJsonReport, toJsonMetric, type JsonCandidate, type JsonMetric, type JsonReport } from './json.ts';
export { renderHtml, type HtmlOptions } from './html.ts';
export { buildView, verdictOf, type CandidateView, type DocumentView, type Finding, type RenderOptions, type Verdict, type VerdictStatus } from './model.ts';
