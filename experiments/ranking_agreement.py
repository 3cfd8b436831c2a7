"""An experiment (not in the product): how often the no-reference rankings of methods agree with the
truth-based ranking.

For every date of a simulated AOI's metrics.csv, methods (the noisy input excluded) are ranked by PSNR
on log-intensity (the truth-based reference) and by each no-reference measure: the held-out-date NLL
(lower is better) and the ratio-image ENL (closer to the input's looks is better). Prints Kendall's
tau between the rankings, the share of method pairs ordered alike, and how often the best method agrees.

    .venv/bin/python experiments/ranking_agreement.py results/demo_1look/metrics.csv --looks 1
"""

from __future__ import annotations

import argparse
import csv
import itertools
from collections import defaultdict

import numpy as np
from scipy.stats import kendalltau


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("metrics_csv")
    ap.add_argument("--looks", type=float, required=True)
    args = ap.parse_args()
    table: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    with open(args.metrics_csv, newline="") as f:
        for r in csv.DictReader(f):
            if r["method"] != "noisy":
                table[r["date"]][r["metric"]][r["method"]] = float(r["value"])
    scores = {
        "heldout_nll": lambda v: -v,
        "ratio_enl": lambda v: -abs(np.log(v / args.looks)),
    }
    for name, key in scores.items():
        taus, pairs_same, pairs_all, best_same = [], 0, 0, 0
        for date, metrics in sorted(table.items()):
            ref = metrics["psnr_log"]
            methods = sorted(ref)
            a = [ref[m] for m in methods]
            b = [key(metrics[name][m]) for m in methods]
            taus.append(kendalltau(a, b).statistic)
            for i, j in itertools.combinations(range(len(methods)), 2):
                pairs_all += 1
                pairs_same += (a[i] - a[j]) * (b[i] - b[j]) > 0
            best_same += methods[int(np.argmax(a))] == methods[int(np.argmax(b))]
        n = len(table)
        print(f"{name:<12} vs PSNR_log: Kendall tau {np.mean(taus):+.2f} (mean of {n} dates), "
              f"pairs ordered alike {pairs_same}/{pairs_all} ({pairs_same / max(pairs_all, 1):.0%}), "
              f"same best method on {best_same}/{n} dates")


if __name__ == "__main__":
    main()
