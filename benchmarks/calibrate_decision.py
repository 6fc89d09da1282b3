"""Are EagleDecisionModel's probabilities calibrated? Pairwise check on RouterBench (validation only).

``EagleDecisionModel`` turns the combined ratings into Luce / Bradley-Terry probabilities at the ELO
scale, P(i preferred to j) = 1 / (1 + 10^((R_j - R_i) / s)) with s = 400. This script measures, on
validation prompts carved from RouterBench's *training* split (seed 42; the test split is never
read), how well those pairwise probabilities predict which of two models scored higher: log-loss
and a reliability table at s = 400, against the best s of a grid (what a fitted temperature would
give) and the constant 0.5.

Usage: ``python benchmarks/calibrate_decision.py [--data DIR/routerbench] [--n-val 300]``
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import write_json  # noqa: E402

from eagle_core import Eagle  # noqa: E402
from eagle_core.datasets import load_dataset  # noqa: E402
from eagle_core.evaluation import CachedEmbedder  # noqa: E402

SCALES = [50, 100, 200, 300, 400, 500, 600, 800, 1600]


def pairs(eagle: Eagle, ds: object, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rating differences R_i - R_j, outcomes 1[score_i > score_j]) over pairs that differ."""
    from tqdm.auto import tqdm

    models = list(ds.models)  # type: ignore[attr-defined]
    diffs, wins = [], []
    for row in tqdm(rows, desc="route validation prompts", unit="prompt"):
        combined = {s.model: s.combined for s in eagle.route(ds.prompts[row]).ranking}  # type: ignore[attr-defined]
        scores = ds.scores[row]  # type: ignore[attr-defined]
        for i, a in enumerate(models):
            for j in range(i + 1, len(models)):
                if np.isnan(scores[i]) or np.isnan(scores[j]) or scores[i] == scores[j]:
                    continue
                diffs.append(combined[a] - combined[models[j]])
                wins.append(float(scores[i] > scores[j]))
    return np.asarray(diffs), np.asarray(wins)


def log_loss(diffs: np.ndarray, wins: np.ndarray, scale: float) -> float:
    p = 1.0 / (1.0 + 10.0 ** (-diffs / scale))
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(wins * np.log(p) + (1 - wins) * np.log(1 - p)))


def reliability(diffs: np.ndarray, wins: np.ndarray, scale: float) -> list[dict[str, float]]:
    """Mean predicted probability vs observed win rate, in bins of the prediction (of the winner side
    folded to >= 0.5)."""
    p = 1.0 / (1.0 + 10.0 ** (-np.abs(diffs) / scale))
    y = np.where(diffs >= 0, wins, 1 - wins)
    edges = [0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0001]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (p >= lo) & (p < hi)
        if m.any():
            out.append({"bin": f"{lo:.2f}-{min(hi, 1):.2f}", "n": int(m.sum()),
                        "predicted": float(p[m].mean()), "observed": float(y[m].mean())})
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="routerbench folder (default: $EAGLE_DATA_DIR)")
    parser.add_argument("--n-val", type=int, default=300)
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args(argv)
    ds = load_dataset(args.data or "routerbench")
    train, _test = ds.split(seed=42)  # the test split is not used
    rng = np.random.RandomState(0)
    train = rng.permutation(train)
    val, fit = train[: args.n_val], train[args.n_val:]
    models = list(ds.models)
    eagle = Eagle(models={m: float(c) for m, c in zip(models, ds.mean_costs(fit), strict=True)},
                  embedder=CachedEmbedder(truncation="left"))
    eagle.record_many([{"query": ds.prompts[i], "scores": {m: float(s) for m, s in
                        zip(models, ds.scores[i], strict=True) if not math.isnan(s)}} for i in fit])
    diffs, wins = pairs(eagle, ds, val)
    losses = {s: log_loss(diffs, wins, s) for s in SCALES}
    best = min(losses, key=losses.get)  # type: ignore[arg-type]
    result = {"fit_prompts": len(fit), "val_prompts": len(val), "pairs": len(diffs),
              "rating_diff_abs_p50": float(np.median(np.abs(diffs))),
              "rating_diff_abs_p90": float(np.percentile(np.abs(diffs), 90)),
              "log_loss": {str(s): v for s, v in losses.items()}, "log_loss_constant_half": math.log(2),
              "best_scale": best, "reliability_400": reliability(diffs, wins, 400),
              f"reliability_{best}": reliability(diffs, wins, best)}
    write_json(Path(args.out) / "calibrate_decision.json", result)
    print(f"{len(diffs)} model pairs with different scores on {len(val)} validation prompts; "
          f"|R_i - R_j| p50 {result['rating_diff_abs_p50']:.1f}, p90 {result['rating_diff_abs_p90']:.1f}")
    for s, v in losses.items():
        print(f"scale {s:5}: log-loss {v:.4f}" + ("  <- ELO's own (shipped)" if s == 400 else ""))
    print(f"constant 0.5: log-loss {math.log(2):.4f}; best scale {best}")
    for name in dict.fromkeys(("reliability_400", f"reliability_{best}")):
        print(name, [(b["bin"], b["n"], round(b["predicted"], 3), round(b["observed"], 3))
                     for b in result[name]])
    return result


if __name__ == "__main__":
    main()
