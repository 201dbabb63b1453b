#!/usr/bin/env python3
"""The scipy side of test/bench/reports.bench.ts: the same statistics as the report SQL, on the
same pairs and requests (exported by the bench as little-endian Float64 rows), computed exactly
on every row (no sampling), one numpy/scipy call per statistic and segment.

Usage: reports_scipy.py PAIRS.bin REQUESTS.bin REF_END_MS  -> prints one JSON line with timings.
"""
import json
import math
import sys
import time

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon

PAIR_COLS = ["noise", "region", "client", "input_class", "t_ms", "baseline_status", "candidate_status", "agree",
             "baseline_label", "candidate_label", "baseline_value", "candidate_value", "baseline_latency_ms",
             "candidate_latency_ms", "within_tolerance", "topk_overlap", "rbo", "jaccard", "paths"]
REQ_COLS = ["canary", "region", "client", "latency_ms", "error"]
SEGMENTS = [("region", 4), ("client", 3), ("input_class", 2)]
Q = [0.5, 0.95, 0.99]


def load(path, cols):
    raw = np.fromfile(path, dtype="<f8")
    m = raw.reshape(-1, len(cols))
    return {c: m[:, i] for i, c in enumerate(cols)}


def groups(d, keys):
    yield np.ones(len(next(iter(d.values()))), dtype=bool)
    for k, nvals in keys:
        for v in range(1, nvals + 1):
            yield d[k] == v


def wilson(k, n):
    return stats.binomtest(int(k), int(n)).proportion_ci(method="wilson") if n else None


def mean_ci(x):
    if len(x) < 2:
        return None
    m, se = x.mean(), x.std(ddof=1) / math.sqrt(len(x))
    return m - 1.96 * se, m + 1.96 * se


def shares_psi_js(r, c):
    rs, cs = r / r.sum(), c / c.sum()
    rp, cp = np.where(rs == 0, 1e-4, rs), np.where(cs == 0, 1e-4, cs)
    return float(np.sum((cp - rp) * np.log(cp / rp))), float(jensenshannon(rs, cs))


def numeric_drift(ref, cur):
    if len(ref) == 0 or len(cur) == 0:
        return None
    edges = np.quantile(ref, np.arange(1, 10) / 10)
    rc = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=10)
    cc = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=10)
    psi, js = shares_psi_js(rc, cc)
    ks = stats.ks_2samp(ref, cur)
    w = stats.wasserstein_distance(ref, cur) / max(ref.std(), 0.001)
    return psi, js, ks.statistic, ks.pvalue, w


def categorical_drift(ref, cur):
    if len(ref) == 0 or len(cur) == 0:
        return None
    return shares_psi_js(np.bincount(ref.astype(int), minlength=10), np.bincount(cur.astype(int), minlength=10))


def pair_reports(p, ref_end_ms):
    out = 0
    for role in (0.0, 1.0):
        sel_role = p["noise"] == role
        for g in groups(p, SEGMENTS):
            m = g & sel_role
            noise = g & (p["noise"] == 1.0)
            ok = m & (p["baseline_status"] == 0) & (p["candidate_status"] == 0)
            n = ok.sum()
            out += bool(wilson(p["agree"][ok].sum(), n))
            bl, cl = p["baseline_label"][ok].astype(int), p["candidate_label"][ok].astype(int)
            cm = np.bincount(bl * 10 + cl, minlength=100).reshape(10, 10)
            for lab in range(10):
                b = cm[lab, :].sum() - cm[lab, lab]
                c = cm[:, lab].sum() - cm[lab, lab]
                if b + c:
                    out += stats.chi2.sf(max(abs(b - c) - 1, 0) ** 2 / (b + c), 1) >= 0
            bv, cv = p["baseline_value"][ok], p["candidate_value"][ok]
            fin = np.isfinite(bv) & np.isfinite(cv)
            bv, cv = bv[fin], cv[fin]
            d = cv - bv
            ad = np.abs(d)
            out += bool(mean_ci(ad)) + bool(mean_ci(d)) + bool(mean_ci(d * d))
            out += np.quantile(ad, 0.99) >= 0
            out += ad.max() >= 0
            out += stats.linregress(bv, cv).slope > -1e300
            out += bool(wilson(p["within_tolerance"][ok].sum(), n))
            for col in ("topk_overlap", "rbo", "jaccard"):
                out += bool(mean_ci(p[col][ok]))
            nok = noise & (p["baseline_status"] == 0) & (p["candidate_status"] == 0)
            for bit in (1, 2, 4):
                k = ((p["paths"][ok].astype(int) & bit) > 0).sum()
                q = ((p["paths"][nok].astype(int) & bit) > 0).sum() / max(nok.sum(), 1)
                out += bool(wilson(k, n)) and q >= 0
            # latency
            out += bool(wilson((p["candidate_status"][m] == 1).sum(), m.sum()))
            out += bool(wilson((p["candidate_status"][m] == 2).sum(), m.sum()))
            out += bool(wilson((p["baseline_status"][m] == 1).sum(), m.sum()))
            lb, lc = p["baseline_latency_ms"][ok], p["candidate_latency_ms"][ok]
            out += len(np.quantile(lb, Q)) + len(np.quantile(lc, Q)) + len(np.quantile(lc - lb, Q))
            # drift
            out += numeric_drift(bv, cv) is not None
            out += categorical_drift(bl, cl) is not None
            bok = m & (p["baseline_status"] == 0)
            ref = bok & (p["t_ms"] < ref_end_ms)
            for col in ("baseline_value", "baseline_latency_ms"):
                x, r = p[col][bok], p[col][ref]
                out += numeric_drift(r[np.isfinite(r)], x[np.isfinite(x)]) is not None
            out += categorical_drift(p["baseline_label"][ref], p["baseline_label"][bok]) is not None
    return out


def canary_report(r):
    out = 0
    for g in groups(r, SEGMENTS[:2]):
        s, c = g & (r["canary"] == 0), g & (r["canary"] == 1)
        ns, nc = s.sum(), c.sum()
        es, ec = r["error"][s].sum(), r["error"][c].sum()
        out += bool(wilson(es, ns)) + bool(wilson(ec, nc))
        pool = (es + ec) / (ns + nc)
        z = (ec / nc - es / ns) / math.sqrt(pool * (1 - pool) * (1 / nc + 1 / ns))
        out += stats.norm.sf(abs(z)) >= 0
        ls, lc = r["latency_ms"][s & (r["error"] == 0)], r["latency_ms"][c & (r["error"] == 0)]
        out += stats.mannwhitneyu(lc, ls, method="asymptotic").pvalue >= 0
        out += len(np.quantile(ls, Q)) + len(np.quantile(lc, Q))
    return out


def main():
    pairs_path, req_path, ref_end_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    t = time.perf_counter()
    p = load(pairs_path, PAIR_COLS)
    r = load(req_path, REQ_COLS)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    n_pairs = pair_reports(p, ref_end_ms)
    pairs_s = time.perf_counter() - t
    t = time.perf_counter()
    n_canary = canary_report(r)
    canary_s = time.perf_counter() - t
    print(json.dumps({"numpy": np.__version__, "scipy": scipy.__version__, "python": sys.version.split()[0],
                      "pairs": int(len(p["noise"])), "requests": int(len(r["canary"])), "load_s": load_s,
                      "pair_reports_s": pairs_s, "canary_s": canary_s, "total_s": pairs_s + canary_s,
                      "statistics": int(n_pairs + n_canary)}))


if __name__ == "__main__":
    main()
