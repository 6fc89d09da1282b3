"""First tuning round: Eagle's hyper-parameters on validation folds of the *training* 70% (never test).

This round fixed global K, draws and normalisation; P, N and local K were chosen again on fresh
folds and more settings by ``select_eagle.py`` (this round's winner led only on its own folds).

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
from eagle_core.evaluation._eagle_numpy import EagleParams, NumpyEagleRouter, normalise
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


_LOGIT_PER_POINT = np.log(10.0) / 400.0  # ELO points -> natural log-odds


class MapBradleyTerryRouter(NumpyEagleRouter):
    """A variant tried for the local rating (``--grid bt``): instead of replaying the N nearest
    prompts' matches with ELO, take the MAP Bradley-Terry ratings of those matches under a normal
    prior centred on the global ratings (sd ``tau`` ELO points). Order-free, and it moves away from
    the global ratings only as far as the neighbours' evidence supports. Not adopted: it did not
    beat the shipped default on validation (docs/BENCHMARKS.md)."""

    def __init__(self, params: EagleParams, tau: float, n_neighbors: int, p: float) -> None:
        super().__init__(params, f"bt tau{tau} N{n_neighbors} p{p}")
        self.tau, self.n_neighbors, self.p = tau, n_neighbors, p

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> MapBradleyTerryRouter:
        super().fit(X, scores, prompts)
        self._scores = scores
        return self

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        m = self._scores.shape[1]
        k = min(self.n_neighbors, len(self._X))
        nb = np.argpartition(-(X.astype(np.float32) @ self._X.T), k - 1, axis=1)[:, :k]
        a, b = np.triu_indices(m, 1)
        s = self._scores[nb]  # (n, k, m)
        wins = np.zeros((len(X), m, m))
        wins[:, a, b] = (s[:, :, a] > s[:, :, b]).sum(axis=1)  # draws dropped, as in the default
        wins[:, b, a] = (s[:, :, a] < s[:, :, b]).sum(axis=1)
        games = wins + wins.transpose(0, 2, 1)
        prior = self._global * _LOGIT_PER_POINT
        precision = 1.0 / (self.tau * _LOGIT_PER_POINT) ** 2
        theta = np.tile(prior, (len(X), 1))
        for _ in range(25):  # Newton steps on the concave log-posterior
            sig = 1.0 / (1.0 + np.exp(theta[:, None, :] - theta[:, :, None]))
            grad = (wins - games * sig).sum(axis=2) - precision * (theta - prior)
            w = games * sig * (1.0 - sig)
            hess = w - (w.sum(axis=2) + precision)[:, :, None] * np.eye(m)
            step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
            theta -= step
            if np.abs(step).max() < 1e-8:
                break
        local = theta / _LOGIT_PER_POINT
        return normalise(self.p * self._global[None, :] + (1 - self.p) * local, "minmax")


def routers_for(kind: str) -> dict[str, Callable[[], object]]:
    routers: dict[str, Callable[[], object]] = {
        name: (lambda prm=prm: NumpyEagleRouter(prm)) for name, prm in grids(kind).items()
    }
    if kind == "bt":
        base = params_of(EagleConfig())
        for tau, n, p in itertools.product((25, 50, 100, 200, 400), (20, 40, 80), (0.0, 0.5)):
            router = lambda t=tau, n=n, p=p: MapBradleyTerryRouter(base, t, n, p)  # noqa: E731
            routers[router().name] = router
    return routers


def folds(rows: np.ndarray, n_folds: int = 3, base: int = 100) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random 80/20 (fit, validation) cuts of ``rows``, fold f seeded ``base + f``."""
    out = []
    for f in range(n_folds):
        perm = np.random.RandomState(base + f).permutation(len(rows))
        cut = int(0.8 * len(rows))
        out.append((np.sort(rows[perm[:cut]]), np.sort(rows[perm[cut:]])))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="routerbench", help="dataset name or folder")
    parser.add_argument("--grid", choices=("default", "full", "weights", "bt"), default="default")
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
    routers = routers_for(args.grid)
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
