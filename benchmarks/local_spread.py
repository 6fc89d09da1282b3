"""How far a model's quality near one query strays from its global quality (the prior ``rd_local``
stands for), estimated on the training 70 % of ``split(42)`` (validation data only).

For a sample of training prompts, take the ``N`` most similar other training prompts (MiniLM
cosine), compute each model's mean grade there and its log-odds difference from the model's global
mean grade, in rating points (400/ln 10 per unit of log-odds). The variance of that difference over
neighbourhoods minus the binomial sampling variance (delta method) is the spread of the true local
quality; its square root is what ``rd_local`` would be if it were estimated from the data.

    python benchmarks/local_spread.py --data $EAGLE_DATA_DIR --neighbours 80
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from tune_online import validation_data  # noqa: E402

SCALE = 400.0 / math.log(10.0)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.02, 0.98)
    return SCALE * np.log(p / (1.0 - p))


def local_spread(grades: np.ndarray, X: np.ndarray, n: int, sample: int = 300) -> np.ndarray:
    """Per model: the neighbourhood-to-neighbourhood spread of log-odds beyond sampling noise."""
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    rows = np.random.default_rng(0).choice(len(X), min(sample, len(X)), replace=False)
    near = np.argsort(-(X[rows] @ X.T), axis=1)[:, 1 : n + 1]
    glob = np.nanmean(grades, axis=0)
    diffs, noise = [], []
    for nb in near:
        g = np.nanmean(grades[nb], axis=0)
        diffs.append(_logit(g) - _logit(glob))
        p = np.clip(g, 0.05, 0.95)
        noise.append(SCALE**2 / (n * p * (1.0 - p)))
    return np.sqrt(np.clip(np.var(diffs, axis=0) - np.mean(noise, axis=0), 0.0, None))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--datasets", nargs="+", default=["routerbench", "arena_bench"])
    ap.add_argument("--neighbours", type=int, default=80)
    args = ap.parse_args()
    for ds, X in validation_data(args.data, args.datasets):
        spread = local_spread(np.asarray(ds.scores, dtype=float), np.asarray(X, dtype=np.float32),
                              args.neighbours)
        print(f"{ds.name}: median {np.median(spread):.0f} points; per model "
              + " ".join(f"{m}={s:.0f}" for m, s in zip(ds.models, spread, strict=True)))


if __name__ == "__main__":
    main()
