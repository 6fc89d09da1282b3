"""Routing to unseen models (UniRoute paper, dynamic pool): ``eagle bench --unseen FRAC``.

Protocol, per trial (``trials`` of them, seeds ``seed + t``):

1. Shuffle the prompts: ``test_frac`` (30%) are test prompts; the rest is the *pool*.
2. Hold out a random ``unseen_frac`` of the models as *unseen*; the others are *training* models.
3. For each validation size N_val: the first N_val pool prompts are the validation set S_val
   (labels of every model), the other pool prompts the training set (labels of training models
   only). Unseen models are represented from S_val alone; routing is among unseen models only.

Routers (all route by ``argmin_h error(x, h) + lambda * cost(h)`` over a dense lambda sweep, cost =
the model's mean cost on S_val):

- ``uniroute_kmeans``: ``UniRouteKMeans`` defaults: K-means on the training prompts, K in
  3..max(3, N_val/50) chosen on S_val among the training models (App. F.1); Ψ of unseen models
  from S_val (per-cluster mean error, Eq. 13), averaged over 10 K-means clusterings
  (``n_clusterings=10``, chosen on pseudo splits of the training side by
  ``benchmarks/select_uniroute.py``; the paper uses one).
- ``uniroute_knn``: mean error of the k nearest S_val prompts; k in 5..N_val/3 chosen the same way.
- ``zero_router``: Pareto-random: the upper convex hull of the unseen models' (cost, quality) on
  S_val, budgets between hull vertices mix the two vertices at random (input-independent).
- ``mlp``: clairvoyant reference: 2x100 ReLU MLP trained on train + S_val with *every* model's
  labels (it has seen the unseen models' training labels, so it is an upper reference).

Metrics (the paper leaves the normalisation open; see :func:`eagle_core.evaluation.deferral_area`):

- ``area``: area under test quality vs test cost, cost min-max normalised to [0, 1] by the mean
  test cost of the cheapest and of the costliest *unseen* model; operating points (one per lambda)
  sorted by cost, quality made non-decreasing, joined linearly (a random mix of two operating
  points, exactly how ZeroRouter mixes its hull models), flat beyond the ends; so area = mean
  reachable quality over the budget range. ``area_50`` = the mean reachable quality over [0, 0.5]
  (the paper's Area(50%), divided by 0.5 like the Eagle-protocol view's; one function serves both).
- ``qnc``: least mean cost at which the router matches the test quality of the most accurate
  unseen model, relative to that model's cost; inf (JSON null) when never reached. Reported as
  the median over trials, with ``qnc_reached`` = share of trials where it was reached.

Models with an unknown cost are left out of the whole evaluation with a warning.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eagle_core._errors import ConfigError
from eagle_core.datasets import RoutingDataset
from eagle_core.evaluation._metrics import deferral_area, deferral_curve
from eagle_core.uniroute import UniRouteKMeans, UniRouteKNN

__all__ = [
    "DEFAULT_CURVE",
    "ROUTERS",
    "add_arguments",
    "combine_unseen",
    "extend_results",
    "plot_unseen",
    "qnc",
    "run_unseen",
]

logger = logging.getLogger(__name__)

ROUTERS: tuple[str, ...] = ("uniroute_kmeans", "uniroute_knn", "zero_router", "mlp")
DEFAULT_CURVE: tuple[int, ...] = (100, 200, 300, 400, 500)
_MIN_TRAIN = 50  # fewest training prompts a trial may leave for K-means / K-NN tuning
_BUDGETS = np.linspace(0.0, 1.0, 201)  # budget grid for ZeroRouter's random mixes


def run_unseen(
    dataset: RoutingDataset,
    embeddings: np.ndarray,
    *,
    unseen_frac: float = 0.5,
    trials: int = 20,
    n_val: int = 100,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    curve: Sequence[int] | None = DEFAULT_CURVE,
    test_frac: float = 0.3,
) -> dict:
    """Evaluate routing to unseen models on one dataset; returns the ``results["unseen"]`` dict.

    ``embeddings`` (n_prompts, d) are aligned with ``dataset.prompts``. ``n_val`` is the headline
    validation size; ``curve`` the sizes of the area-vs-N_val plot (sizes leaving fewer than 50
    training prompts are dropped; a small dataset gets 5 sizes from 25 up to what fits instead).
    With ``out_dir``, writes ``unseen_<dataset>.png`` and ``unseen_<dataset>.json`` there.
    """
    scores, costs, models, excluded = _known_cost_data(dataset)
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(dataset):
        raise ConfigError(f"embeddings must be ({len(dataset)}, d), one row per prompt, got shape {x.shape}")
    _check_args(unseen_frac, trials, test_frac, len(models))
    n_test = int(round(test_frac * len(dataset)))
    n_pool = len(dataset) - n_test
    sizes = _sizes(n_val, curve, n_pool)
    n_unseen = _n_unseen(unseen_frac, len(models))
    per: dict[int, dict[str, list[tuple[float, float, float]]]] = {n: {r: [] for r in ROUTERS} for n in sizes}
    chosen: dict[str, dict[int, int]] = {"kmeans_K": {}, "knn_k": {}}
    grid_curves: dict[str, list[np.ndarray]] = {r: [] for r in ROUTERS}
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency
    from tqdm.auto import tqdm

    bar = tqdm(range(trials), desc=f"unseen models ({dataset.name})", disable=not progress)
    # tiny matrices: one BLAS thread is ~10x faster than several fighting over 2 shared cores
    with threadpool_limits(limits=1):
        for t in bar:
            test, pool, seen, unseen = _trial_indices(seed + t, len(dataset), len(models), n_test, n_unseen)
            mlp_q = _clairvoyant_mlp(x[pool], scores[pool], x[test], seed + t)[:, unseen]
            for n in sizes:
                split = _Split(x, scores, costs, pool[:n], pool[n:], test, seen, unseen)
                out = _run_trial(split, mlp_q, seed + t, chosen)
                for r, (points, metrics) in out.items():
                    per[n][r].append(metrics)
                    if n == n_val:
                        grid_curves[r].append(_on_grid(points, split))
    result = _summary(per, sizes, n_val, grid_curves, chosen)
    result.update(
        dataset=dataset.name,
        models=list(models),
        excluded_models=excluded,
        unseen_frac=unseen_frac,
        n_unseen=n_unseen,
        trials=trials,
        test_frac=test_frac,
        seed=seed,
        normalisation=(
            "cost min-max normalised by the mean test cost of the cheapest and costliest unseen "
            "model; area = mean over normalised cost in [0,1] of the test quality reachable at "
            "that cost (points joined linearly = random mixes, quality non-decreasing); "
            "qnc = least cost matching the best unseen model's test quality / that model's "
            "cost, median over trials (null = never reached)"
        ),
    )
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in dataset.name)
        result["plot"] = str(plot_unseen(result, folder / f"unseen_{slug}.png"))
        (folder / f"unseen_{slug}.json").write_text(json.dumps(result, indent=2))
    return result


def combine_unseen(per_dataset: Mapping[str, dict]) -> dict:
    """``results["unseen"]`` for one or several datasets.

    One dataset: its own ``area``/``qnc`` at the top. Several: the mean area over datasets and the
    mean of the per-dataset QNC (null if any is null), each dataset's full result under
    ``datasets``.
    """
    if not per_dataset:
        raise ConfigError("per_dataset must hold at least one dataset result")
    results = list(per_dataset.values())
    if len(results) == 1:
        top = {"area": results[0]["area"], "qnc": results[0]["qnc"]}
    else:
        area = {r: float(np.mean([res["area"][r] for res in results])) for r in ROUTERS}
        qncs = {}
        for r in ROUTERS:
            vals = [res["qnc"][r] for res in results]
            qncs[r] = None if any(v is None for v in vals) else float(np.mean(vals))
        top = {"area": area, "qnc": qncs}
    return {**top, "datasets": dict(per_dataset)}


# --------------------------------------------------------------------------------------------
# one trial
# --------------------------------------------------------------------------------------------
def _n_unseen(unseen_frac: float, n_models: int) -> int:
    """How many models a trial holds out: ``unseen_frac`` of them, at least 2, leaving 2 seen."""
    return min(n_models - 2, max(2, int(round(unseen_frac * n_models))))


def _trial_indices(
    seed: int, n_prompts: int, n_models: int, n_test: int, n_unseen: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(test, pool, seen, unseen) of one trial: test = the first ``n_test`` of a random prompt order
    (pool = the rest, in that order), unseen = ``n_unseen`` random models (sorted)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n_prompts)
    unseen = np.sort(rng.choice(n_models, size=n_unseen, replace=False))
    return perm[:n_test], perm[n_test:], np.setdiff1d(np.arange(n_models), unseen), unseen


class _Split:
    """Index sets of one (trial, N_val) and the arrays they index."""

    def __init__(self, x, scores, costs, val, train, test, seen, unseen) -> None:
        self.x, self.scores, self.costs = x, scores, costs
        self.val, self.train, self.test = val, train, test
        self.seen, self.unseen = seen, unseen
        self.val_cost = costs[np.ix_(val, unseen)].mean(axis=0)  # what the router knows
        self.test_q = scores[np.ix_(test, unseen)]
        self.test_c = costs[np.ix_(test, unseen)]
        mean_c = self.test_c.mean(axis=0)
        self.c_min, self.c_max = float(mean_c.min()), float(mean_c.max())
        best = int(np.argmax(self.test_q.mean(axis=0)))
        self.best_q, self.best_c = float(self.test_q[:, best].mean()), float(mean_c[best])


def _run_trial(
    s: _Split, mlp_q: np.ndarray, seed: int, chosen: dict[str, dict[int, int]]
) -> dict[str, tuple[tuple[np.ndarray, np.ndarray], tuple[float, float, float]]]:
    kmeans, knn = UniRouteKMeans(random_state=seed), UniRouteKNN(random_state=seed)
    pred = {
        "uniroute_kmeans": _predict_unseen(kmeans, s),
        "uniroute_knn": _predict_unseen(knn, s),
        "mlp": 1.0 - mlp_q,
    }
    _count(chosen["kmeans_K"], kmeans.n_clusters_)
    _count(chosen["knn_k"], knn.n_neighbors_)
    out = {}
    for name, errors in pred.items():
        points = deferral_curve(errors, s.val_cost, s.test_q, s.test_c)
        out[name] = (points, _metrics(points, s))
    points = _zero_router(s)
    out["zero_router"] = (points, _metrics(points, s))
    return out


def _predict_unseen(router: UniRouteKMeans | UniRouteKNN, s: _Split) -> np.ndarray:
    """Test errors (n_test, n_unseen) predicted by ``router`` in split ``s``.

    The router is fitted on the training prompts with the training models' errors (choosing its
    hyper-parameters on S_val among the training models, App. F.1), then every unseen model is
    added from its S_val scores alone.
    """
    err_tr = 1.0 - s.scores[np.ix_(s.train, s.seen)]
    err_va = 1.0 - s.scores[np.ix_(s.val, s.seen)]
    train_cost = s.costs[np.ix_(s.train, s.seen)].mean(axis=0)
    router.fit(s.x[s.train], err_tr, costs=train_cost, val_embeddings=s.x[s.val], val_errors=err_va)
    for j in s.unseen:
        router.add_model(str(j), s.x[s.val], s.scores[s.val, j])
    return router.predict_error(s.x[s.test])


def _metrics(points: tuple[np.ndarray, np.ndarray], s: _Split) -> tuple[float, float, float]:
    xs, ys = points
    area = deferral_area(xs, ys, s.c_min, s.c_max)
    area_50 = deferral_area(xs, ys, s.c_min, s.c_max, upto=0.5)
    return area, area_50, qnc(xs, ys, s.best_q, s.best_c)


def qnc(xs: np.ndarray, ys: np.ndarray, target: float, ref_cost: float) -> float:
    """Least cost reaching ``target`` quality on the linearly joined curve, over ``ref_cost``."""
    order = np.argsort(xs, kind="stable")
    x = np.asarray(xs, dtype=np.float64)[order]
    y = np.maximum.accumulate(np.asarray(ys, dtype=np.float64)[order])
    goal = target - 1e-12
    if ref_cost <= 0 or y[-1] < goal:
        return math.inf
    i = int(np.argmax(y >= goal))
    if i == 0:
        return float(x[0] / ref_cost)
    frac = (goal - y[i - 1]) / (y[i] - y[i - 1])
    return float((x[i - 1] + frac * (x[i] - x[i - 1])) / ref_cost)


def _zero_router(s: _Split) -> tuple[np.ndarray, np.ndarray]:
    """Pareto-random on the validation hull, evaluated on test (mixes are linear in cost/quality)."""
    val_q = s.scores[np.ix_(s.val, s.unseen)].mean(axis=0)
    hull = _upper_hull(s.val_cost, val_q)
    tc, tq = s.test_c.mean(axis=0)[hull], s.test_q.mean(axis=0)[hull]
    if len(hull) == 1:
        return tc, tq
    vc = s.val_cost[hull]
    budgets = vc[0] + _BUDGETS * (vc[-1] - vc[0])
    seg = np.clip(np.searchsorted(vc, budgets, side="right") - 1, 0, len(hull) - 2)
    p_hi = np.clip((budgets - vc[seg]) / (vc[seg + 1] - vc[seg]), 0.0, 1.0)
    xs = (1 - p_hi) * tc[seg] + p_hi * tc[seg + 1]
    ys = (1 - p_hi) * tq[seg] + p_hi * tq[seg + 1]
    order = np.argsort(xs, kind="stable")
    return xs[order], ys[order]


def _upper_hull(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Indices of the non-decreasing upper convex hull of (cost, quality), cheapest first."""
    order = np.lexsort((-quality, cost))
    hull = [int(order[0])]
    while True:
        cur = hull[-1]
        cand = [j for j in range(len(cost)) if cost[j] > cost[cur] and quality[j] > quality[cur]]
        if not cand:
            return np.asarray(hull)
        slopes = [(quality[j] - quality[cur]) / (cost[j] - cost[cur]) for j in cand]
        top = max(slopes)
        # among equal slopes take the farthest (collinear points are not vertices)
        hull.append(
            max((j for j, v in zip(cand, slopes, strict=True) if v >= top - 1e-12), key=lambda j: cost[j])
        )


def _clairvoyant_mlp(x: np.ndarray, scores: np.ndarray, x_test: np.ndarray, seed: int) -> np.ndarray:
    """The paper's clairvoyant MLP: 2x100 ReLU, Adam 1e-3, batch 64, 30 epochs, best on held-out."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    mlp = MLPRegressor(
        hidden_layer_sizes=(100, 100),
        learning_rate_init=1e-3,
        batch_size=64,
        max_iter=30,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=30,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x, scores)
    return np.clip(mlp.predict(x_test).reshape(len(x_test), -1), 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# bookkeeping
# --------------------------------------------------------------------------------------------
def _known_cost_data(ds: RoutingDataset) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    if ds.scores is None:
        raise ConfigError(f"dataset {ds.name!r} has no scores.csv: --unseen needs per-prompt scores")
    known = ~np.isnan(ds.costs).any(axis=0) & ~np.isnan(ds.scores).any(axis=0)
    excluded = [m for m, k in zip(ds.models, known, strict=True) if not k]
    if excluded:
        logger.warning(
            "%s: unknown cost (or missing scores) for %s; left out of the unseen-model "
            "evaluation (never treated as free)",
            ds.name,
            ", ".join(excluded),
        )
    models = [m for m, k in zip(ds.models, known, strict=True) if k]
    return ds.scores[:, known], ds.costs[:, known], models, excluded


def _check_args(unseen_frac: float, trials: int, test_frac: float, n_models: int) -> None:
    if not 0.0 < unseen_frac < 1.0:
        raise ConfigError(f"unseen_frac must be in (0, 1), got {unseen_frac!r}")
    if not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"trials must be an int >= 1, got {trials!r}")
    if not 0.0 < test_frac < 1.0:
        raise ConfigError(f"test_frac must be in (0, 1), got {test_frac!r}")
    if n_models < 4:
        raise ConfigError(f"the unseen-model evaluation needs >= 4 models with known costs, got {n_models}")


def _sizes(n_val: int, curve: Sequence[int] | None, n_pool: int) -> list[int]:
    """Validation sizes to run: the headline ``n_val`` plus the curve sizes that fit."""
    room = n_pool - _MIN_TRAIN
    if not isinstance(n_val, int) or n_val < 10 or n_val > room:
        raise ConfigError(
            f"n_val must be an int in [10, {room}] for this dataset ({n_pool} non-test prompts, "
            f"at least {_MIN_TRAIN} kept for training), got {n_val!r}"
        )
    sizes = [n for n in (curve or ()) if 10 <= n <= room]
    if curve and len(sizes) < 3:
        dropped = sorted(set(curve) - set(sizes))
        sizes = sorted({int(v) for v in np.linspace(25, room, 5)})
        logger.warning("validation sizes %s do not fit; curve uses %s instead", dropped, sizes)
    return sorted(set(sizes) | {n_val})


def _count(table: dict[int, int], key: int) -> None:
    table[key] = table.get(key, 0) + 1


def _on_grid(points: tuple[np.ndarray, np.ndarray], s: _Split) -> np.ndarray:
    """The step curve on a 0..1 normalised-cost grid (for the averaged deferral-curve plot)."""
    xs, ys = points
    span = s.c_max - s.c_min
    x = np.clip((xs - s.c_min) / span, 0.0, 1.0) if span > 0 else np.zeros_like(xs)
    order = np.argsort(x, kind="stable")
    x, y = x[order], np.maximum.accumulate(ys[order])
    idx = np.searchsorted(x, _BUDGETS, side="right") - 1
    return np.where(idx >= 0, y[np.clip(idx, 0, None)], y[0])


def _finite_or_none(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _summary(per, sizes, n_val, grid_curves, chosen) -> dict:
    head = per[n_val]
    arr = {r: np.asarray(head[r], dtype=np.float64) for r in ROUTERS}  # (trials, 3)
    t = len(arr[ROUTERS[0]])
    sem = {r: float(arr[r][:, 0].std(ddof=1) / math.sqrt(t)) if t > 1 else 0.0 for r in ROUTERS}
    return {
        "n_val": n_val,
        "area": {r: float(arr[r][:, 0].mean()) for r in ROUTERS},
        "area_sem": sem,
        "area_50": {r: float(arr[r][:, 1].mean()) for r in ROUTERS},
        "qnc": {r: _finite_or_none(float(np.median(arr[r][:, 2]))) for r in ROUTERS},
        "qnc_reached": {r: float(np.isfinite(arr[r][:, 2]).mean()) for r in ROUTERS},
        "kmeans_beats": {
            other: float(np.mean(arr["uniroute_kmeans"][:, 0] >= arr[other][:, 0]))
            for other in ROUTERS
            if other != "uniroute_kmeans"
        },
        "curve": {
            "n_val": list(sizes),
            "area": {r: [float(np.mean([m[0] for m in per[n][r]])) for n in sizes] for r in ROUTERS},
            "area_sem": {
                r: [
                    float(np.std([m[0] for m in per[n][r]], ddof=1) / math.sqrt(t)) if t > 1 else 0.0
                    for n in sizes
                ]
                for r in ROUTERS
            },
        },
        "deferral_curve": {
            "normalised_cost": _BUDGETS.tolist()[::10],
            "quality": {r: np.mean(grid_curves[r], axis=0).tolist()[::10] for r in ROUTERS},
        },
        "chosen": {k: {str(kk): v for kk, v in sorted(d.items())} for k, d in chosen.items()},
    }


def plot_unseen(result: Mapping, path: str | os.PathLike[str]) -> Path:
    """Two panels: area vs N_val (mean +- 1.96 SEM over trials) and the mean deferral curve.

    The right panel averages, over trials, the best quality of any single operating point costing
    at most x (no mixing between points), so it lies slightly below the curve whose area is
    reported.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    sizes = result["curve"]["n_val"]
    for r in ROUTERS:
        mean = np.asarray(result["curve"]["area"][r])
        band = 1.96 * np.asarray(result["curve"]["area_sem"][r])
        left.plot(sizes, mean, marker="o", label=r)
        left.fill_between(sizes, mean - band, mean + band, alpha=0.15)
        dc = result["deferral_curve"]
        right.plot(dc["normalised_cost"], dc["quality"][r], label=r)
    left.set(
        xlabel="validation prompts N_val",
        ylabel="area (deferral curve)",
        title=f"{result.get('dataset', '')}: unseen models, {result.get('trials', '?')} trials",
    )
    right.set(
        xlabel="normalised cost", ylabel="test quality", title=f"mean deferral curve, N_val={result['n_val']}"
    )
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# --------------------------------------------------------------------------------------------
# `eagle bench` extension hook (see eagle_core.cli) and a stand-alone entry point
# --------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``eagle bench --unseen FRAC [--trials T] [--n-val N] [--n-val-curve N ...]``."""
    parser.add_argument(
        "--unseen",
        type=float,
        metavar="FRAC",
        default=None,
        help="also evaluate routing to unseen models, holding out FRAC of them",
    )
    parser.add_argument("--trials", type=int, default=20, help="--unseen: random trials")
    parser.add_argument(
        "--n-val", type=int, default=100, help="--unseen: labelled prompts per unseen model (headline)"
    )
    parser.add_argument(
        "--n-val-curve",
        type=int,
        nargs="*",
        default=list(DEFAULT_CURVE),
        metavar="N",
        help="--unseen: validation sizes of the area-vs-N_val plot",
    )


def extend_results(args: argparse.Namespace, ctx: Any) -> None:
    """Adds ``ctx.results["unseen"]`` when ``--unseen`` was given (skips unsuitable datasets)."""
    if getattr(args, "unseen", None) is None:
        return
    per: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for name, ds in ctx.datasets.items():
        try:
            per[name] = run_unseen(
                ds,
                ctx.embeddings[name],
                unseen_frac=args.unseen,
                trials=args.trials,
                n_val=args.n_val,
                seed=ctx.seed,
                out_dir=None if getattr(args, "no_plots", False) else ctx.out,
                progress=not getattr(args, "quiet", False),
                curve=args.n_val_curve,
            )
        except ConfigError as exc:  # e.g. votes only, 2 models, too few prompts
            logger.warning("--unseen: skipping %s: %s", name, exc)
            skipped[name] = str(exc)
    if per:
        ctx.results["unseen"] = combine_unseen(per)
        if skipped:
            ctx.results["unseen"]["skipped"] = skipped


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eagle_core.evaluation.unseen --data DIR [DIR...] --out OUT``: this evaluation only.

    The same run as ``eagle bench --unseen`` without the Eagle-protocol part; writes
    ``OUT/results.json`` with the ``unseen`` section and ``OUT/unseen_<dataset>.png``.
    """
    from eagle_core.datasets import load_dataset
    from eagle_core.evaluation import CachedEmbedder

    parser = argparse.ArgumentParser(prog="python -m eagle_core.evaluation.unseen")
    parser.add_argument("--data", nargs="+", required=True, help="dataset folder(s) or names")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--unseen", type=float, default=0.5, help="share of models held out")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--n-val", type=int, default=100, help="headline validation size")
    parser.add_argument("--curve", type=int, nargs="*", default=list(DEFAULT_CURVE))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    embed = CachedEmbedder()
    per = {}
    for item in args.data:
        ds = load_dataset(item)
        per[ds.name] = run_unseen(
            ds,
            embed(list(ds.prompts)),
            unseen_frac=args.unseen,
            trials=args.trials,
            n_val=args.n_val,
            seed=args.seed,
            out_dir=args.out,
            progress=True,
            curve=args.curve,
        )
        res = per[ds.name]
        print(f"{ds.name}: N_val={res['n_val']}, {res['trials']} trials")
        for r in ROUTERS:
            q = res["qnc"][r]
            print(
                f"  {r:16s} area {res['area'][r]:.4f} +- {res['area_sem'][r]:.4f}  "
                f"area50 {res['area_50'][r]:.4f}  qnc {'inf' if q is None else f'{q:.3f}'}"
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"unseen": combine_unseen(per)}, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
