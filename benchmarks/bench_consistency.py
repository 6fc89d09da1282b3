"""What the multi-process consistency design does to routing quality (issue 7), on RouterBench.

The engine makes every process converge by replaying the shared log in (ts, writer, seq) order
instead of each process's own arrival order. This script measures the cost of that choice with
the evaluation harness (Eagle-paper protocol: per sub-dataset 70/30 split, seed 42, λ sweep, AUC):

* ``arrival``: the paper-faithful single stream, training feedback applied in arrival order;
* ``2w-skew-X``: the same stream spread at random over two writers whose clocks differ by X
  (as a fraction of the stream's duration), replayed in (ts, writer, seq) order. With synchronised
  clocks (X=0) that order *is* the arrival order; X=1 is the worst case (all of one writer's feedback
  after all of the other's);
* ``shuffle-i``: random permutations of the stream, the spread sequential ELO has anyway.

It also reports how far two processes' global ratings would drift apart under naive arrival-order
application (each applies its own feedback at once and the other's one sync interval later),
which is what the deterministic replay removes (0 by construction, tested in
tests/integration_tests/test_scaleout_sharing.py).

Usage: ``python benchmarks/bench_consistency.py [--data DIR] [--shuffles 5] [--out bench-out]``
"""

from __future__ import annotations

import argparse
import logging
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_or_exit, machine, write_json  # noqa: E402


def two_writer_order(n: int, skew: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of the stream (arrival order 0..n-1) in (ts, writer, seq) order for a skewed writer."""
    writer = rng.integers(0, 2, size=n)  # a load balancer spreads the stream over two processes
    ts = np.arange(n, dtype=float) + writer * skew * n  # writer 1's clock runs skew*n ahead
    seq = np.zeros(n, dtype=int)
    for w in (0, 1):
        idx = np.flatnonzero(writer == w)
        seq[idx] = np.arange(len(idx))
    return np.lexsort((seq, writer, ts))


def naive_drift(pairs: list[list[tuple[str, str, float, float]]], delay: int, k: float,
                rng: np.random.Generator) -> float:
    """Max |R_A - R_B| over models when each process applies feedback in its own arrival order."""
    from eagle_core._elo import replay

    n = len(pairs)
    writer = rng.integers(0, 2, size=n)
    t = np.arange(n)
    final = []
    for me in (0, 1):
        arrival = np.where(writer == me, t, t + delay)  # the other's feedback arrives one sync later
        ratings: dict[str, float] = {}
        for i in np.lexsort((t, arrival)):
            for a, b, _, _ in pairs[i]:
                ratings.setdefault(a, 1500.0)
                ratings.setdefault(b, 1500.0)
            replay(ratings, pairs[i], k)
        final.append(ratings)
    return max(abs(final[0][m] - final[1][m]) for m in final[0])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None,
                        help="data root holding routerbench/ (default: $EAGLE_DATA_DIR or ../shared/data)")
    parser.add_argument("--shuffles", type=int, default=5)
    parser.add_argument("--skews", type=float, nargs="+", default=[0.0, 0.01, 0.1, 1.0])
    parser.add_argument("--backend", choices=("engine", "numpy"), default="engine")
    parser.add_argument("--config", choices=("default", "recommended", "paper"), default="default",
                        help="EagleConfig(), the evaluation's validated settings, or EagleConfig.paper()")
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from tqdm.auto import tqdm

    from eagle_core import EagleConfig
    from eagle_core.evaluation import CachedEmbedder
    from eagle_core.evaluation._eagle_numpy import NumpyEagleRouter, score_pairs
    from eagle_core.evaluation._eagle_router import EngineEagleRouter
    from eagle_core.evaluation._protocol import evaluate_subset

    ds = load_or_exit("routerbench", args.data, "bench_consistency")
    X = CachedEmbedder(progress=not args.quiet)(list(ds.prompts))
    if args.config == "recommended":
        from eagle_core.evaluation._eagle_router import RECOMMENDED

        config = EagleConfig(**RECOMMENDED)
    else:
        config = EagleConfig.paper() if args.config == "paper" else EagleConfig()
    if args.backend == "engine":
        routers = {"eagle": lambda: EngineEagleRouter(config, "eagle")}
    else:
        from eagle_core.evaluation._eagle_router import _numpy_params

        routers = {"eagle": lambda: NumpyEagleRouter(_numpy_params(config), "eagle")}

    train, test = ds.split(seed=42, train_frac=0.7)
    subsets = {}
    for name in ds.subset_names:
        rows = set(ds.subset_indices(name).tolist())
        subsets[name] = (np.array([i for i in train if i in rows]), np.array([i for i in test if i in rows]))

    scenarios: dict[str, Any] = {"arrival": None}
    scenarios.update({f"2w-skew-{s:g}": ("skew", s) for s in args.skews})
    scenarios.update({f"shuffle-{i}": ("shuffle", i) for i in range(args.shuffles)})
    auc: dict[str, dict[str, float]] = {}
    for label, how in tqdm(scenarios.items(), desc="consistency scenarios", disable=args.quiet):
        auc[label] = {}
        for name, (tr, te) in subsets.items():
            rng = np.random.default_rng(zlib.crc32(f"{label}/{name}".encode()))
            if how is None:
                order = np.arange(len(tr))
            elif how[0] == "skew":
                order = two_writer_order(len(tr), how[1], rng)
            else:
                order = rng.permutation(len(tr))
            res = evaluate_subset(name, ds, X, tr[order], te, routers)
            auc[label][name] = res.curves["eagle"].auc
        auc[label]["total"] = sum(auc[label].values())

    # naive arrival-order application: how far apart would two processes end up?
    drift = {}
    rng = np.random.default_rng(0)
    for name, (tr, _) in subsets.items():
        a, b, s = score_pairs(ds.scores[tr], config.draw_score)
        pairs = [[(str(a[j]), str(b[j]), float(row[j]), 1.0) for j in range(len(a)) if row[j] == row[j]]
                 for row in s]
        drift[name] = {f"delay_{d}": naive_drift(pairs, d, config.effective_global_k, rng) for d in (10, 100)}

    base = auc["arrival"]["total"]
    shuffles = [v["total"] for k, v in auc.items() if k.startswith("shuffle")]
    result = {
        "machine": machine(), "dataset": "routerbench", "config_name": args.config,
        "config": config.to_dict(), "backend": args.backend,
        "auc": auc, "auc_delta_vs_arrival": {k: v["total"] - base for k, v in auc.items()},
        "shuffle_total_auc": {"min": min(shuffles), "max": max(shuffles), "std": float(np.std(shuffles))}
        if shuffles else {},
        "naive_arrival_order_max_rating_gap": drift,
    }
    print(f"{'scenario':<16} " + " ".join(f"{n:>14}" for n in subsets) + f" {'total':>8} {'Δ':>8}")
    for label, row in auc.items():
        print(f"{label:<16} " + " ".join(f"{row[n]:>14.4f}" for n in subsets)
              + f" {row['total']:>8.4f} {row['total'] - base:>+8.4f}")
    print("naive arrival-order ELO, max rating gap between two processes (ELO points): "
          + "; ".join(f"{n}: " + ", ".join(f"{k} {v:.1f}" for k, v in d.items()) for n, d in drift.items()))
    name = "consistency.json" if args.config == "default" else f"consistency-{args.config}.json"
    write_json(Path(args.out) / name, result)
    print(f"wrote {Path(args.out) / name}")
    return result


if __name__ == "__main__":
    main()
