/** The metric row contract shared by the report SQL, the store and the renderer. */
export type ReportKind = 'agreement' | 'latency' | 'drift' | 'canary';

export interface MetricRow {
  report: ReportKind;
  metric: string;
  /** '' for the overall row. */
  segment_key: string;
  segment_value: string;
  /** null when there is no evidence (n = 0) or the metric is undefined on it. */
  value: number | null;
  /** The evidence behind the value (pairs, requests, or sample size when sampled; see details). */
  n: number;
  lower: number | null;
  upper: number | null;
  p_value: number | null;
  /** p_value adjusted across the metric's family (details.p_adjust names the method). */
  p_adjusted: number | null;
  /** How value and interval/p were computed, e.g. 'wilson-95', 'mcnemar-cc'. */
  method: string;
  details: Record<string, unknown>;
}

export interface Report {
  runId: string;
  experiment: string;
  candidate: string;
  role: 'candidate' | 'noise';
  /** Epoch ms, half-open [from, to). */
  window: { from: number; to: number };
  createdAt: number;
  metrics: MetricRow[];
}

/** Knobs of the statistics; every field has a default (see DEFAULT_THRESHOLDS). */
export interface ReportThresholds {
  /** Diffy noise subtraction: minimum |raw − noise| / (raw + noise). Default 0.2. */
  relThreshold: number;
  /** Diffy noise subtraction: minimum |raw − noise| (rates). Default 0.0003. */
  absThreshold: number;
  /**
   * KS p-values are exact when n_ref·n_cur is at most this, else from the limiting Kolmogorov
   * distribution. Default 1,000,000 (about 1000 x 1000): the exact computation's cost grows with n·m.
   */
  ksExactMaxProduct: number;
  /** Quantiles (latency, p99 of |c − b|) use a deterministic sample of about this many pairs. Default 1,000,000. */
  maxQuantileSample: number;
  /** Drift statistics (KS, PSI, JS, Wasserstein) use a deterministic sample of about this many pairs. Default 20,000. */
  maxDriftSample: number;
  /** Canary Mann-Whitney and quantiles use a deterministic sample of about this many requests. Default 200,000. */
  maxCanarySample: number;
}

/** How p_adjusted is computed within each family (report, metric) of one report. */
export type Multiplicity = 'holm' | 'bh';
