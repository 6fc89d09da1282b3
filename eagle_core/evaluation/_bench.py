"""``run_bench``: everything ``eagle bench`` does, as a library call returning the results dict."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eagle_core.datasets import (
    DatasetNotFoundError,
    RoutingDataset,
    list_datasets,
    load_dataset,
)
from eagle_core.evaluation._cache import CachedEmbedder
from eagle_core.evaluation._metrics import LAMBDAS
from eagle_core.evaluation._protocol import (
    BASELINES,
    DatasetResult,
    RouterFactory,
    evaluate_dataset,
)

__all__ = ["DEFAULT_LIMITS", "BenchContext", "resolve_data", "run_bench"]

logger = logging.getLogger(__name__)

DEFAULT_LIMITS: dict[str, int] = {"routellm": 2000}
"""Per-sub-dataset prompt caps applied unless ``limit`` is given: routellm's mmlu has 14k
prompts (MiniLM: ~10 min to embed once, and the sklearn baselines get slow); a seeded random
2000 per sub-dataset keeps a full run within minutes. ``limit=0`` lifts every cap."""

ONLINE_BASELINES = ("knn40", "mlp", "svm")


@dataclass
class BenchContext:
    """What a bench extension (e.g. ``eagle_core.evaluation.unseen``) gets to work with."""

    datasets: dict[str, RoutingDataset]
    embeddings: dict[str, np.ndarray]
    embedder: CachedEmbedder
    results: dict[str, Any]
    out: Path
    seed: int = 42
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_data(data: str | os.PathLike[str], names: Sequence[str] | None = None) -> dict[str, Path]:
    """``{name: folder}`` for ``data`` = one dataset folder or a root holding several."""
    root = Path(data).expanduser()
    if (root / "prompts.csv").is_file() or (root / "prompts.csv.gz").is_file():
        folders = {root.name: root}
    else:
        if not root.is_dir():
            raise DatasetNotFoundError(
                f"--data {root} does not exist: pass a dataset folder (e.g. .../routerbench) or "
                "the data root holding several (set EAGLE_DATA_DIR; see shared/data/README.md)"
            )
        folders = {n: root / n for n in list_datasets(root)}
        if not folders:
            raise DatasetNotFoundError(f"--data {root} holds no dataset folder with prompts.csv")
    if names:
        unknown = [n for n in names if n not in folders]
        if unknown:
            raise DatasetNotFoundError(
                f"datasets {unknown} not found under {root}; available: {sorted(folders)}"
            )
        folders = {n: folders[n] for n in names}
    return folders


def _limit_for(name: str, limit: int | None) -> int | None:
    if limit is None:
        return DEFAULT_LIMITS.get(name)
    return None if limit == 0 else limit


def run_bench(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    datasets: Sequence[str] | None = None,
    limit: int | None = None,
    routers: Mapping[str, RouterFactory] | None = None,
    embedder: CachedEmbedder | None = None,
    online: bool = True,
    votes: bool = True,
    plots: bool = True,
    seed: int = 42,
    progress: bool = True,
    extensions: Sequence[Any] = (),
    extension_args: Any = None,
    eagle_overrides: dict[str, Any] | None = None,
    judges: tuple[str, ...] | None = ("human",),
) -> dict[str, Any]:
    """Run the protocol (and online/votes simulations) and write results.json/.md and plots."""
    from eagle_core.evaluation._eagle_router import eagle_configs, engine_available
    from eagle_core.evaluation._online import simulate_online
    from eagle_core.evaluation._protocol import default_routers
    from eagle_core.evaluation._report import render_markdown, subset_json
    from eagle_core.evaluation._votes import evaluate_votes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    embedder = embedder if embedder is not None else CachedEmbedder(progress=progress)
    if routers is None:
        routers = default_routers()
        if eagle_overrides:
            from eagle_core.evaluation._eagle_router import eagle_factories

            routers.update(eagle_factories(overrides=eagle_overrides))
    routers = dict(routers)
    folders = resolve_data(data, datasets)
    loaded: dict[str, RoutingDataset] = {}
    limits: dict[str, int | None] = {}
    for name, folder in folders.items():
        lim = _limit_for(name, limit)
        limits[name] = lim
        loaded[name] = load_dataset(folder).sample_per_subset(lim, seed=seed)
    vote_sets = [n for n, ds in loaded.items() if ds.votes]
    if votes and vote_sets:  # a judge selection matching no vote fails now, not after the run
        from eagle_core.evaluation._votes import select_judges

        select_judges(loaded[vote_sets[0]].votes, judges, vote_sets[0])
    embeddings = {n: embedder(list(ds.prompts)) for n, ds in loaded.items()}

    results: dict[str, Any] = {}
    score_sets = {n: ds for n, ds in loaded.items() if ds.has_scores}
    multi = len(score_sets) > 1
    if score_sets:
        results.update(datasets={}, folders={}, total_auc={}, timing_s={}, online={})
    plot_files: list[str] = []
    for name, ds in score_sets.items():
        res: DatasetResult = evaluate_dataset(ds, embeddings[name], routers, seed=seed, progress=progress)
        for sub_name, sub in res.subsets.items():
            key = f"{name}/{sub_name}" if multi else sub_name
            results["datasets"][key] = {"folder": name, **subset_json(sub)}
        total = res.total_auc()
        results["folders"][name] = {
            "total_auc": total,
            "subsets": list(res.subsets),
            "n_prompts": len(ds),
            "limit_per_subset": limits[name],
        }
        for r, v in total.items():
            results["total_auc"][r] = results["total_auc"].get(r, 0.0) + v
        _add_timing(results["timing_s"], res.timing_s())
        if online:
            results["online"][name] = _online(ds, embeddings[name], routers, seed, simulate_online)
            _add_timing(results["timing_s"], _online_timing(results["online"][name]))
        if plots:
            plot_files += _plots(res, out, name)
    if score_sets and online:
        results["online_summary"] = _online_summary(results["online"])
    if votes and vote_sets:
        cfg = eagle_configs(eagle_overrides)["eagle"] if engine_available() else None
        results["votes"] = evaluate_votes(loaded[vote_sets[0]], embedder, cfg, judges=judges)
        results["votes"]["dataset"] = vote_sets[0]
    results["config"] = _run_config(folders, limits, routers, embedder, seed, eagle_overrides)
    results["plots"] = plot_files
    ctx = BenchContext(loaded, embeddings, embedder, results, out, seed)
    for ext in extensions:
        ext.extend_results(extension_args, ctx)
    (out / "results.json").write_text(json.dumps(_clean(results), indent=1), encoding="utf-8")
    (out / "results.md").write_text(render_markdown(results), encoding="utf-8")
    return results


def _add_timing(into: dict, timing: Mapping[str, Mapping[str, float]]) -> None:
    for r, stages in timing.items():
        for stage, s in stages.items():
            into.setdefault(r, {})[stage] = into.get(r, {}).get(stage, 0.0) + s


def _online(ds, X, routers, seed, simulate_online) -> dict:
    train, test = ds.split(seed=seed)
    out = {}
    for sub in ds.subset_names:
        rows = set(ds.subset_indices(sub).tolist())
        tr = np.array([i for i in train if i in rows], dtype=int)
        te = np.array([i for i in test if i in rows], dtype=int)
        out[sub] = simulate_online(ds, X, tr, te, routers, seed=seed)
    return out


def _online_timing(online: dict) -> dict[str, dict[str, float]]:
    timing: dict[str, dict[str, float]] = {}
    for per_router in online.values():
        for r, stages in per_router.items():
            for stage, v in stages.items():
                key = f"online_{stage}"
                timing.setdefault(r, {})[key] = timing.get(r, {}).get(key, 0.0) + v["seconds"]
    return timing


def _online_summary(online: dict) -> dict[str, Any]:
    """Per folder: seconds to absorb each +15% (summed over sub-datasets), Eagle vs retrains."""
    summary: dict[str, Any] = {}
    for folder, subs in online.items():
        stages: dict[str, dict[str, float]] = {}
        for per_router in subs.values():
            for r, st in per_router.items():
                for stage, v in st.items():
                    stages.setdefault(stage, {})
                    stages[stage][r] = stages[stage].get(r, 0.0) + v["seconds"]
        rows = {}
        for stage in ("update_1", "update_2"):
            t = stages.get(stage, {})
            eagle = t.get("eagle")
            ratings_only = t.get("eagle:ratings_only")
            base = {r: t[r] for r in ONLINE_BASELINES if r in t}
            if eagle is None or not base:
                continue
            fastest = min(base, key=base.get)
            trained = {r: v for r, v in base.items() if r != "knn40"}
            row = {
                "eagle_s": eagle,
                "fastest_baseline": fastest,
                "fastest_baseline_s": base[fastest],
                "speedup_vs_fastest": base[fastest] / eagle if eagle > 0 else float("inf"),
            }
            if ratings_only:
                row.update(
                    eagle_ratings_only_s=ratings_only,
                    ratings_only_speedup_vs_fastest=base[fastest] / ratings_only,
                )
            if trained:
                ft = min(trained, key=trained.get)
                row.update(
                    fastest_trained_baseline=ft,
                    fastest_trained_baseline_s=trained[ft],
                    speedup_vs_fastest_trained=trained[ft] / eagle if eagle > 0 else float("inf"),
                )
                if ratings_only:
                    row["ratings_only_speedup_vs_fastest_trained"] = trained[ft] / ratings_only
            rows[stage] = row
        summary[folder] = {"stages_s": stages, "updates": rows}
    return summary


def _plots(res: DatasetResult, out: Path, name: str) -> list[str]:
    from eagle_core.evaluation._plots import plot_cost_quality, plot_lambda_curves

    a = plot_lambda_curves(res.subsets, out / f"{name}_lambda.png", f"{name}: score vs λ")
    b = plot_cost_quality(res.subsets, out / f"{name}_cost_quality.png", f"{name}: quality vs cost")
    return [a.name, b.name]


def _run_config(folders, limits, routers, embedder, seed, overrides) -> dict[str, Any]:
    from eagle_core.evaluation._eagle_router import eagle_configs, engine_available

    cfg: dict[str, Any] = {
        "data": {n: str(p) for n, p in folders.items()},
        "limit_per_subset": limits,
        "routers": list(routers),
        "embedder": embedder.key,
        "seed": seed,
        "train_frac": 0.7,
        "lambdas": list(LAMBDAS),
        "eagle_backend": "engine" if engine_available() else "numpy",
        "baselines": sorted(BASELINES),
    }
    if engine_available():
        cfg["eagle_configs"] = {k: v.to_dict() for k, v in eagle_configs(overrides).items()}
        cfg["eagle_overrides"] = overrides or {}
    return cfg


def _clean(obj: Any) -> Any:
    """JSON-safe: numpy scalars to float, inf/nan to strings JSON readers accept."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if np.isfinite(f) else ("inf" if f > 0 else "-inf" if f < 0 else "nan")
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
