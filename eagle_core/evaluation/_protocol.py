"""The Eagle-paper protocol: per sub-dataset seeded 70/30 split, λ sweep, AUC, side by side.

``evaluate_dataset`` trains every router on each sub-dataset's training rows, routes the test
rows at every λ with RouterBench's rule argmax(q·λ − cost_m) (cost_m = mean training cost of m)
and records the curves, Eagle's AUC and the UniRoute view (deferral area, area up to 50%, QNC).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from eagle_core.datasets import RoutingDataset
from eagle_core.evaluation._baselines import (
    KNNRouter,
    LinearSVRRouter,
    MLPRouter,
    OracleRouter,
    RandomRouter,
    Router,
    SingleRouter,
)
from eagle_core.evaluation._metrics import (
    DENSE_LAMBDAS,
    LAMBDAS,
    Curve,
    choose,
    curve,
    deferral_area,
    qnc,
)

__all__ = [
    "BASELINES",
    "DatasetResult",
    "SubsetResult",
    "default_routers",
    "evaluate_dataset",
    "evaluate_subset",
    "known_cost_models",
]

logger = logging.getLogger(__name__)

RouterFactory = Callable[[], Router]

BASELINES: dict[str, RouterFactory] = {
    "knn40": KNNRouter,
    "mlp": MLPRouter,
    "svm": LinearSVRRouter,
    "single": SingleRouter,
    "random": RandomRouter,
    "oracle": OracleRouter,
}


def default_routers() -> dict[str, RouterFactory]:
    """``eagle`` (shipped default), ``eagle_paper`` (literal) and every baseline, in report order."""
    from eagle_core.evaluation._eagle_router import eagle_factories

    return {**eagle_factories(), **BASELINES}


@dataclass
class SubsetResult:
    """Curves and metrics of every router on one sub-dataset's test rows."""

    name: str
    n_train: int
    n_test: int
    models: tuple[str, ...]
    excluded_models: tuple[str, ...]
    curves: dict[str, Curve] = field(default_factory=dict)
    dense: dict[str, Curve] = field(default_factory=dict)
    timing_s: dict[str, dict[str, float]] = field(default_factory=dict)
    c_min: float = 0.0
    c_max: float = 0.0
    best_model_quality: float = 0.0
    best_model_cost: float = 0.0
    cheapest_quality: float = 0.0

    def auc(self) -> dict[str, float]:
        return {r: c.auc for r, c in self.curves.items()}

    def uniroute(self) -> dict[str, dict[str, float]]:
        """Deferral area (full and up to 50% normalised cost) and QNC per router."""
        out = {}
        for r, c in self.dense.items():
            out[r] = {
                "area": deferral_area(
                    c.cost, c.quality, self.c_min, self.c_max, start_quality=self.cheapest_quality
                ),
                "area_50": deferral_area(
                    c.cost, c.quality, self.c_min, self.c_max, 0.5, self.cheapest_quality
                ),
                "qnc": qnc(c.cost, c.quality, self.best_model_quality, self.best_model_cost),
            }
        return out


@dataclass
class DatasetResult:
    name: str
    subsets: dict[str, SubsetResult]
    extra: dict = field(default_factory=dict)

    def total_auc(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for sub in self.subsets.values():
            for r, v in sub.auc().items():
                total[r] = total.get(r, 0.0) + v
        return total

    def timing_s(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for sub in self.subsets.values():
            for r, stages in sub.timing_s.items():
                for stage, s in stages.items():
                    out.setdefault(r, {})[stage] = out.get(r, {}).get(stage, 0.0) + s
        return out


def known_cost_models(cost: np.ndarray, models: tuple[str, ...], where: str) -> np.ndarray:
    """Mask of models with a known cost; warns (once per call) about the others."""
    known = ~np.isnan(cost)
    if not known.all():
        missing = [m for m, k in zip(models, known, strict=True) if not k]
        logger.warning(
            "%s: unknown cost for %s; left out of every cost-aware curve (never treated as free)",
            where,
            ", ".join(missing),
        )
    return known


def evaluate_subset(
    name: str,
    ds: RoutingDataset,
    X: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    routers: Mapping[str, RouterFactory],
    lambdas: tuple[float, ...] = LAMBDAS,
) -> SubsetResult:
    """Fit each router on ``train`` rows and score its λ curve on ``test`` rows."""
    assert ds.scores is not None
    cost = ds.mean_costs(train)
    known = known_cost_models(cost, ds.models, f"{ds.name}/{name}")
    cols = np.flatnonzero(known)
    models = tuple(ds.models[j] for j in cols)
    s_tr, s_te = ds.scores[np.ix_(train, cols)], ds.scores[np.ix_(test, cols)]
    c_te, cost = ds.costs[np.ix_(test, cols)], cost[cols]
    p_tr = [ds.prompts[i] for i in train]
    p_te = [ds.prompts[i] for i in test]
    test_mean_cost = np.nanmean(c_te, axis=0)
    test_quality = s_te.mean(axis=0)
    best = int(np.argmax(test_quality))
    result = SubsetResult(
        name=name,
        n_train=len(train),
        n_test=len(test),
        models=models,
        excluded_models=tuple(m for m in ds.models if m not in models),
        c_min=float(test_mean_cost.min()),
        c_max=float(test_mean_cost.max()),
        best_model_quality=float(test_quality[best]),
        best_model_cost=float(test_mean_cost[best]),
        cheapest_quality=float(test_quality[int(np.argmin(test_mean_cost))]),
    )
    for rname, factory in routers.items():
        router = factory()
        t0 = time.perf_counter()
        router.fit(X[train], s_tr, p_tr)
        t1 = time.perf_counter()
        fixed = router.fixed_choices(len(test))
        if isinstance(router, OracleRouter):
            q = router.predict_true(s_te)
        elif fixed is None:
            q = router.predict(X[test], p_te)
        t2 = time.perf_counter()
        result.timing_s[rname] = {"fit": t1 - t0, "predict": t2 - t1}
        for grid, target in ((lambdas, result.curves), (DENSE_LAMBDAS, result.dense)):
            if fixed is not None:
                choices = [fixed] * len(grid)
            else:
                choices = [choose(q, cost, lam) for lam in grid]
            target[rname] = curve(choices, s_te, c_te, tuple(grid))
        logger.info("%s/%s %s: AUC %.3f", ds.name, name, rname, result.curves[rname].auc)
    return result


def evaluate_dataset(
    ds: RoutingDataset,
    X: np.ndarray,
    routers: Mapping[str, RouterFactory] | None = None,
    *,
    seed: int = 42,
    train_frac: float = 0.7,
    progress: bool = True,
) -> DatasetResult:
    """Run the protocol on every sub-dataset of ``ds`` (``X``: its prompts' embeddings)."""
    from tqdm.auto import tqdm

    routers = default_routers() if routers is None else routers
    _warm_imports()
    train, test = ds.split(seed=seed, train_frac=train_frac)
    subsets = {}
    for name in tqdm(ds.subset_names, desc=f"{ds.name}: sub-datasets", disable=not progress):
        rows = set(ds.subset_indices(name).tolist())
        tr = np.array([i for i in train if i in rows], dtype=int)
        te = np.array([i for i in test if i in rows], dtype=int)
        subsets[name] = evaluate_subset(name, ds, X, tr, te, routers)
    return DatasetResult(ds.name, subsets)


def _warm_imports() -> None:
    """Import scikit-learn up front so the first router's timed ``fit`` excludes import time."""
    import sklearn.neighbors  # noqa: F401
    import sklearn.neural_network  # noqa: F401
    import sklearn.svm  # noqa: F401
