"""Choose UniRouteKMeans' *procedure* on held-out splits of the training side (never test data).

The unseen-model evaluation (``eagle_core.evaluation.unseen``) splits each trial into test prompts
/ pool prompts and unseen / training ("seen") models. Here, per trial (same seeds, so the same
splits as the real run), the test prompts and the unseen models are dropped and the rest is split
again exactly as the real protocol splits a dataset:

- the seen models into pseudo-seen / pseudo-unseen (the same ``unseen_frac``),
- the pool into pseudo-test (the same ``test_frac``) and a pseudo-pool whose first N_val' prompts
  are the pseudo-validation set, the others pseudo-training prompts.

Every candidate procedure is then run as in the real protocol (fit on pseudo-training prompts with
the pseudo-seen models' errors, choose its own K and smoothing on the pseudo-validation set among
the pseudo-seen models, represent the pseudo-unseen models from pseudo-validation, route the
pseudo-test prompts among them) and scored by the pseudo-test deferral area.

Rule fixed before the run: score = mean over datasets of (mean over that dataset's N_val' values
of the mean pseudo-test area). The K-means procedure with the highest score becomes
UniRouteKMeans' default. The fixed-K rules (``coldstart ...``: K from N_val alone, auto smoothing,
clusters of the labelled prompts, i.e. what :class:`ColdStartEstimator` can do in the engine, where
no training models' errors exist to choose K) are ranked by the same score to pick its K rule.
UniRouteKNN and ZeroRouter run in the same splits as references.

    .venv/bin/python benchmarks/select_uniroute.py                      # both datasets, defaults
    .venv/bin/python benchmarks/select_uniroute.py --data arena_bench --trials 50 --n-val 25 50
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eagle_core.datasets import load_dataset
from eagle_core.evaluation import CachedEmbedder
from eagle_core.evaluation._metrics import deferral_curve
from eagle_core.evaluation.unseen import (
    _known_cost_data,
    _metrics,
    _n_unseen,
    _predict_unseen,
    _Split,
    _trial_indices,
    _zero_router,
)
from eagle_core.uniroute import ColdStartEstimator, UniRouteKMeans, UniRouteKNN

META_SEED = 100_000  # pseudo-split of trial t uses seed META_SEED + seed + t
DEFAULTS = {"routerbench": (30, (50, 100, 200)), "arena_bench": (400, (25, 50))}  # trials, N_val'


def log_grid(top: int, n: int = 12) -> list[int]:
    """Up to ``n`` log-spaced integers in 1..top (every integer when top is small)."""
    return sorted({int(round(v)) for v in np.geomspace(1, top, n)})


def paper(n: int) -> list[int]:
    return list(range(3, max(3, n // 50) + 1))


def wide(div: int) -> Callable[[int], list[int]]:
    return lambda n: log_grid(max(3, n // div))


# name -> (N_val -> candidate UniRouteKMeans settings); several settings = chosen jointly: the one
# whose best validation area (over its own K candidates) is highest wins
def one(n_clusters: list[int], smoothing: float | str, b: int = 1, **kw) -> list[dict]:
    """A single UniRouteKMeans setting averaging ``b`` clusterings (1 = the paper's)."""
    return [dict(n_clusters=n_clusters, smoothing=smoothing, n_clusterings=b, **kw)]


PROCEDURES: dict[str, Callable[[int], list[dict]]] = {
    "paper: K 3..N/50, s=0": lambda n: one(paper(n), 0.0),
    "K 3..N/50, s=auto": lambda n: one(paper(n), "auto"),
    "K 1..N/10, s=0": lambda n: one(wide(10)(n), 0.0),
    "K 1..N/10, s=auto": lambda n: one(wide(10)(n), "auto"),
    "K 1..N/10, s in {0,auto}": lambda n: one(wide(10)(n), 0.0) + one(wide(10)(n), "auto"),
    "K 1..N/5, s=0": lambda n: one(wide(5)(n), 0.0),
    "K 1..N/5, s=auto": lambda n: one(wide(5)(n), "auto"),
    "K 1..N/5, s in {0,auto}": lambda n: one(wide(5)(n), 0.0) + one(wide(5)(n), "auto"),
    "K 1..N/10, s=auto, clusters on train+val": lambda n: one(
        wide(10)(n), "auto", cluster_on="train+val"
    ),
    "K 1..N/5, s=auto, clusters on train+val": lambda n: one(
        wide(5)(n), "auto", cluster_on="train+val"
    ),
    # averaging B clusterings (n_clusterings), added in the second selection run
    "K 3..N/50, s=0, B=10": lambda n: one(paper(n), 0.0, b=10),
    "K 3..N/50, s=auto, B=5": lambda n: one(paper(n), "auto", b=5),
    "K 3..N/50, s=auto, B=10": lambda n: one(paper(n), "auto", b=10),
    "K 3..N/50, s=auto, B=20": lambda n: one(paper(n), "auto", b=20),
    "K 1..N/10, s=auto, B=10": lambda n: one(wide(10)(n), "auto", b=10),
}
COLDSTART: dict[str, tuple[Callable[[int], int], int]] = {
    f"coldstart K=max(3,N/{d})": ((lambda n, d=d: max(3, n // d)), 1) for d in (50, 25, 10, 5)
}
COLDSTART.update({
    f"coldstart K=max(3,N/{d}), B={b}": ((lambda n, d=d: max(3, n // d)), b)
    for d in (50, 25) for b in (5, 10)
})
REFERENCES = ("uniroute_knn", "zero_router")


class _SharedFits(UniRouteKMeans):
    """UniRouteKMeans reusing identical K-means fits across procedures (same prompts, K, seed).

    Only a speed-up: K-means is deterministic given its inputs, so results are unchanged.
    """

    cache: dict[tuple, object] = {}

    def _kmeans(self, x: np.ndarray, k: int, random_state: int | None):
        key = (x.shape, k, random_state, self.n_init, hashlib.blake2b(x.tobytes()).digest())
        if key not in self.cache:
            self.cache[key] = super()._kmeans(x, k, random_state)
        return self.cache[key]


def kmeans_area(settings: list[dict], s: _Split, seed: int) -> tuple[float, int]:
    """Pseudo-test area of the procedure and the K it chose."""
    best = None
    for kw in settings:
        router = _SharedFits(random_state=seed, **kw)
        pred = _predict_unseen(router, s)
        score = max(router.selection_scores.values())
        if best is None or score > best[0]:
            best = (score, pred, router.n_clusters_)
    assert best is not None
    return area(best[1], s), best[2]


def coldstart_area(k: int, b: int, s: _Split, seed: int) -> float:
    est = ColdStartEstimator(n_clusters=k, smoothing="auto", n_clusterings=b, random_state=seed)
    for j in s.unseen:  # the first add_model clusters its labelled (validation) prompts
        est.add_model(str(j), s.x[s.val], s.scores[s.val, j])
    assert est._router is not None and est.models == tuple(str(j) for j in s.unseen)
    # batch form of est.predict_quality(v) for every test prompt v (same columns, same values)
    return area(est._router.predict_error(s.x[s.test]), s)


def area(pred_errors: np.ndarray, s: _Split) -> float:
    return _metrics(deferral_curve(pred_errors, s.val_cost, s.test_q, s.test_c), s)[0]


def run(name: str, trials: int, n_vals: tuple[int, ...], seed: int, unseen_frac: float,
        test_frac: float) -> dict:
    ds = load_dataset(name)
    scores, costs, models, _ = _known_cost_data(ds)
    x = np.asarray(CachedEmbedder(progress=False)(list(ds.prompts)), dtype=np.float64)
    n_test = int(round(test_frac * len(ds)))
    n_unseen = _n_unseen(unseen_frac, len(models))
    names = [*PROCEDURES, *COLDSTART, *REFERENCES]
    areas = {n: {p: [] for p in names} for n in n_vals}
    chosen_k = {n: {p: [] for p in PROCEDURES} for n in n_vals}
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        for t in range(trials):
            test, pool, seen, unseen = _trial_indices(seed + t, len(ds), len(models), n_test, n_unseen)
            # the real trial's test prompts and unseen models are dropped here, never used below
            p_test, p_pool, p_seen, p_unseen = _trial_indices(
                META_SEED + seed + t, len(pool), len(seen), int(round(test_frac * len(pool))),
                _n_unseen(unseen_frac, len(seen)),
            )
            p_test, p_pool, p_seen, p_unseen = pool[p_test], pool[p_pool], seen[p_seen], seen[p_unseen]
            assert not set(p_test) & set(test) and not set(p_pool) & set(test)
            assert not (set(p_seen) | set(p_unseen)) & set(unseen)
            for n in n_vals:
                _SharedFits.cache.clear()
                s = _Split(x, scores, costs, p_pool[:n], p_pool[n:], p_test, p_seen, p_unseen)
                for p, make in PROCEDURES.items():
                    a, k = kmeans_area(make(n), s, seed + t)
                    areas[n][p].append(a)
                    chosen_k[n][p].append(k)
                for p, (rule, b) in COLDSTART.items():
                    areas[n][p].append(coldstart_area(rule(n), b, s, seed + t))
                knn = UniRouteKNN(random_state=seed + t)
                areas[n]["uniroute_knn"].append(area(_predict_unseen(knn, s), s))
                areas[n]["zero_router"].append(_metrics(_zero_router(s), s)[0])
            if (t + 1) % 10 == 0:
                print(f"  {name}: {t + 1}/{trials} trials", file=sys.stderr, flush=True)
    out = {"dataset": name, "trials": trials, "n_val": list(n_vals), "models": len(models),
           "pseudo_unseen": _n_unseen(unseen_frac, len(models) - n_unseen),
           "pseudo_seen": len(models) - n_unseen - _n_unseen(unseen_frac, len(models) - n_unseen),
           "area": {}, "sem": {}, "mean": {}, "chosen_k": {}}
    for p in names:
        out["area"][p] = [float(np.mean(areas[n][p])) for n in n_vals]
        out["sem"][p] = [float(np.std(areas[n][p], ddof=1) / np.sqrt(trials)) for n in n_vals]
        out["mean"][p] = float(np.mean(out["area"][p]))
    for p in PROCEDURES:
        out["chosen_k"][p] = [float(np.median(chosen_k[n][p])) for n in n_vals]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", nargs="+", default=list(DEFAULTS))
    parser.add_argument("--trials", type=int, default=None, help="default: 30 routerbench, 400 arena")
    parser.add_argument("--n-val", type=int, nargs="+", default=None, help="N_val' values")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-out/unseen-selection/select_uniroute.json")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    started = time.perf_counter()
    results = {}
    for name in args.data:
        trials, n_vals = DEFAULTS.get(name, (30, (50, 100)))
        results[name] = run(name, args.trials or trials, tuple(args.n_val or n_vals), args.seed,
                            unseen_frac=0.5, test_frac=0.3)
    names = [*PROCEDURES, *COLDSTART, *REFERENCES]
    score = {p: float(np.mean([r["mean"][p] for r in results.values()])) for p in names}
    winner = max(PROCEDURES, key=lambda p: score[p])
    cold = max(COLDSTART, key=lambda p: score[p])
    head = " | ".join(
        f"{d} N'={n}" for d, r in results.items() for n in r["n_val"]
    )
    print(f"| procedure | {head} | score |")
    print("|---|" + "---|" * (head.count("|") + 2))
    for p in names:
        cells = " | ".join(
            f"{a:.4f} ± {e:.4f}"
            for r in results.values()
            for a, e in zip(r["area"][p], r["sem"][p], strict=True)
        )
        mark = " **(chosen)**" if p in (winner, cold) else ""
        print(f"| {p}{mark} | {cells} | {score[p]:.4f} |")
    print("\nmedian K chosen:")
    for p in PROCEDURES:
        print(f"  {p:44s} " + "  ".join(f"{d}:{r['chosen_k'][p]}" for d, r in results.items()))
    print(f"\nK-means default: {winner}\nColdStartEstimator rule: {cold}")
    print(f"({time.perf_counter() - started:.0f} s)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"score": score, "winner": winner, "coldstart": cold,
                               "datasets": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
