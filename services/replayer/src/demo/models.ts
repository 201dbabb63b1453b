/**
 * In-process demo models, used as `module` candidates. Deterministic per input, so a replay
 * after a crash computes the same outputs; simulated latency is real waiting time.
 */
export interface DemoInput {
  income: number;
  debt_ratio: number;
  history_months: number;
  late_payments: number;
  region: string;
}

export interface DemoOutput {
  label: 'approve' | 'review' | 'decline';
  score: number;
}

function risk(x: DemoInput): number {
  const z = -2.2 + 3.1 * x.debt_ratio + 0.55 * x.late_payments - 0.006 * x.history_months - 0.000008 * x.income;
  return 1 / (1 + Math.exp(-z));
}

function label(score: number): DemoOutput['label'] {
  return score < 0.25 ? 'approve' : score < 0.55 ? 'review' : 'decline';
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** The model in production. */
export function baselineModel(x: DemoInput): DemoOutput {
  const score = risk(x);
  return { label: label(score), score: round(score) };
}

/** 32-bit FNV-1a of the input: a stable "random" number per request. */
function unit(x: DemoInput, salt: number): number {
  const s = `${salt}|${x.income}|${x.debt_ratio}|${x.history_months}|${x.late_payments}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 4294967296;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Latency like the baseline's serving time: log-normal around 15 ms. */
async function serve(x: DemoInput, salt: number, tail: { share: number; extraMs: number }): Promise<void> {
  const u = unit(x, salt);
  const base = 15 * Math.exp(0.3 * (u - 0.5) * 3.4);
  await sleep(base + (unit(x, salt + 1) < tail.share ? tail.extraMs : 0));
}

/** The production model served as a replay target (A/A): same outputs, same serving time as a retrain. */
export async function baselineReplay(x: DemoInput): Promise<DemoOutput> {
  await serve(x, 31, { share: 0.01, extraMs: 8 });
  return baselineModel(x);
}

/** A retrained model close to the baseline: scores move a little, labels flip only at the borders. */
export async function closeCandidate(x: DemoInput): Promise<DemoOutput> {
  await serve(x, 11, { share: 0.01, extraMs: 8 });
  const score = Math.min(1, Math.max(0, risk(x) + (unit(x, 12) - 0.5) * 0.01));
  return { label: label(score), score: round(score) };
}

/**
 * A candidate with a real regression: in the apac region it over-weights late payments (labels
 * flip), and one call in twenty is slow (a cold cache), so its p99 latency is far worse.
 */
export async function regressedCandidate(x: DemoInput): Promise<DemoOutput> {
  await serve(x, 21, { share: 0.05, extraMs: 60 });
  const shifted = x.region === 'apac' ? { ...x, late_payments: x.late_payments * 2 + 1 } : x;
  const score = Math.min(1, Math.max(0, risk(shifted) + (unit(x, 22) - 0.5) * 0.01));
  return { label: label(score), score: round(score) };
}

export default baselineModel;
