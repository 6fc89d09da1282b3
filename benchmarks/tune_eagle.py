"""Choose Eagle's hyper-parameters on validation folds carved from the *training* 70% (never test).

For each sub-dataset, the seed-42 training split is cut ``--folds`` times (random 80/20, seeds 100,
101, ...; default 10, as mbpp's 20% is only ~60 prompts); every candidate config is fitted on the
80% and scored by the λ-curve AUC on the 20%, averaged over folds.
Uses the numpy twin of the engine (`eagle_core.evaluation._eagle_numpy`, unit-tested equal to the
engine) so a grid of dozens of configs runs in minutes.

    .venv/bin/python benchmarks/tune_eagle.py --data routerbench            # default grid
    .venv/bin/python benchmarks/tune_eagle.py --data routerbench --grid full --folds 3
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from collections.abc import Callable

import numpy as np

from eagle_core import EagleConfig
from eagle_core.datasets import load_dataset
from eagle_core.evaluation import CachedEmbedder
from eagle_core.evaluation._eagle_numpy import EagleParams, NumpyEagleRouter
from eagle_core.evaluation._eagle_router import _numpy_params as params_of
from eagle_core.evaluation._protocol import BASELINES, evaluate_subset


def grids(kind: str) -> dict[str, EagleParams]:
    named = {"default": params_of(EagleConfig()), "paper": params_of(EagleConfig.paper())}
    if kind == "full":
        for n, k, gk, draw, norm in itertools.product(
            (20, 40, 80), (4, 8, 16, 32), (0.5, 2.0, 32.0), (0.5, None), ("minmax", "winprob")
        ):
            cfg = EagleConfig(n_neighbors=n, k=k, global_k=gk, draw_score=draw, normalization=norm)
            named[f"N{n} k{k} gk{gk} draw{draw} {norm}"] = params_of(cfg)
    if kind == "weights":  # how much to trust the local ratings: p (global share), N, local k, global k
        for p, n, k, gk in itertools.product((0.5, 0.7, 0.85), (40, 80), (2.0, 8.0), (0.5, 4.0)):
            cfg = EagleConfig(p=p, n_neighbors=n, k=k, global_k=gk)
            named[f"p{p} N{n} k{k} gk{gk}"] = params_of(cfg)
    return named


def folds(rows: np.ndarray, n_folds: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for f in range(n_folds):
        perm = np.random.RandomState(100 + f).permutation(len(rows))
        cut = int(0.8 * len(rows))
        out.append((np.sort(rows[perm[:cut]]), np.sort(rows[perm[cut:]])))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="routerbench", help="dataset name or folder")
    parser.add_argument("--grid", choices=("default", "full", "weights"), default="default")
    parser.add_argument("--limit", type=int, default=None, help="prompts per sub-dataset (routellm: 2000)")
    parser.add_argument("--folds", type=int, default=10, help="random 80/20 validation folds per sub-dataset")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    ds = load_dataset(args.data).sample_per_subset(args.limit)
    X = CachedEmbedder(progress=True)(list(ds.prompts))
    train, _test = ds.split()  # the test part is never touched here
    splits = {}
    for sub in ds.subset_names:
        rows = set(ds.subset_indices(sub).tolist())
        splits[sub] = folds(np.array([i for i in train if i in rows]), args.folds)
    routers: dict[str, Callable[[], object]] = {
        name: (lambda prm=prm: NumpyEagleRouter(prm)) for name, prm in grids(args.grid).items()
    }
    routers.update({k: v for k, v in BASELINES.items() if k in ("knn40", "single")})
    started = time.perf_counter()
    totals: dict[str, dict[str, float]] = {name: {} for name in routers}
    for sub, sub_folds in splits.items():
        for tr, va in sub_folds:
            result = evaluate_subset(sub, ds, X, tr, va, routers)
            for name, auc in result.auc().items():
                totals[name][sub] = totals[name].get(sub, 0.0) + auc / len(sub_folds)
    ranked = sorted(totals.items(), key=lambda kv: -sum(kv[1].values()))
    subs = list(splits)
    print(f"validation AUC (mean of {len(next(iter(splits.values())))} folds), {args.data}:")
    print(f"{'config':<46} {'total':>7} " + " ".join(f"{s[:10]:>10}" for s in subs))
    for name, per in ranked[:25]:
        print(f"{name:<46} {sum(per.values()):7.3f} " + " ".join(f"{per[s]:10.3f}" for s in subs))
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
