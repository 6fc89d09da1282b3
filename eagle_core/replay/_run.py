"""Run a replay grid: datasets x scenarios x seeds x routers, aggregated to mean and s.e."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from eagle_core.datasets import RoutingDataset
from eagle_core.replay._harness import replay
from eagle_core.replay._metrics import references, score_trace, thirds_share
from eagle_core.replay._routers import DEFAULT_ROUTERS, ROUTERS, ReplayContext, RouterFactory
from eagle_core.replay._scenarios import SCENARIOS, prepare
from eagle_core.replay._stream import ReplayError, build_stream

__all__ = ["DEFAULT_SCENARIOS", "auto_wtp", "run_replay", "summarise"]

logger = logging.getLogger(__name__)

DEFAULT_SCENARIOS: tuple[str, ...] = ("cold", "warm", "sparse", "drift", "newcomer", "budget")
CURVE_POINTS = 200
"""Regret and traffic curves are stored at this many evenly spaced steps."""


def auto_wtp(ds: RoutingDataset) -> float:
    """The default willingness to pay: 4 x cost / grade of the highest-grade model, i.e. its answers
    are worth 4 times what they cost. Quality-only routing sends everything to the top model; at
    this price cheaper models win where they are right, so routing matters."""
    assert ds.scores is not None
    cols = np.flatnonzero(~np.isnan(ds.costs).any(axis=0))
    grades = np.nanmean(ds.scores[:, cols], axis=0)
    top = int(np.argmax(grades))
    return float(4.0 * np.nanmean(ds.costs[:, cols[top]]) / grades[top])


def _mean_se(values: Sequence[float | None]) -> dict[str, float] | None:
    arr = np.array([v for v in values if v is not None and v == v], dtype=float)
    if not len(arr):
        return None
    se = float(arr.std(ddof=1) / np.sqrt(len(arr))) if len(arr) > 1 else 0.0
    return {"mean": float(arr.mean()), "se": se, "n": int(len(arr))}


def _sample(curve: np.ndarray) -> np.ndarray:
    idx = np.unique(np.linspace(0, len(curve) - 1, min(CURVE_POINTS, len(curve))).astype(int))
    return curve[idx]


def _rolling_share(chosen: np.ndarray, col: int, window: int) -> np.ndarray:
    served = (chosen == col).astype(float)
    w = max(min(window, len(served)), 1)
    return np.convolve(served, np.ones(w) / w, mode="full")[: len(served)] * w / np.minimum(
        np.arange(1, len(served) + 1), w)  # fmt: skip


def run_replay(
    data: Sequence[tuple[RoutingDataset, np.ndarray]],
    *,
    scenarios: Sequence[str] = DEFAULT_SCENARIOS,
    seeds: int = 10,
    routers: Mapping[str, RouterFactory] | Sequence[str] | None = None,
    wtp: float | Mapping[str, float] | None = None,
    length: int | None = None,
    progress: bool = True,
) -> dict:
    """Replay every router on every (dataset, scenario, seed); returns the results dict that
    ``eagle replay`` writes as results.json (curves included under ``"curves"``).

    ``data``: (dataset, its prompt embeddings) pairs. ``wtp``: one willingness to pay, one per
    dataset name, or None for :func:`auto_wtp`. ``length``: steps per stream (default: all prompts).
    """
    from tqdm.auto import tqdm

    factories = _factories(routers)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise ReplayError(f"scenarios must be among {list(SCENARIOS)}, got unknown {unknown}")
    if seeds < 1:
        raise ReplayError(f"seeds must be >= 1, got {seeds}")
    total = len(data) * len(scenarios) * seeds * len(factories)
    out: dict = {"settings": {"scenarios": list(scenarios), "seeds": seeds, "routers": list(factories),
                              "length": length}, "datasets": {}}  # fmt: skip
    with tqdm(total=total, desc="replay", unit="run", disable=not progress) as bar:
        for ds, X in data:
            w = wtp.get(ds.name) if isinstance(wtp, Mapping) else wtp
            w = auto_wtp(ds) if w is None else float(w)
            ctx = ReplayContext(ds.name, np.asarray(X, dtype=np.float32))
            entry: dict = {"wtp": w, "scenarios": {}}
            for name in scenarios:
                runs: dict[str, list[dict]] = {r: [] for r in factories}
                refs: list[dict] = []
                for seed in range(seeds):
                    stream = build_stream(ds, X, seed=seed, length=length)
                    prep = prepare(stream, SCENARIOS[name], wtp=w)
                    ref = references(prep)
                    refs.append(_ref_summary(prep, ref))
                    for rname, factory in factories.items():
                        bar.set_postfix_str(f"{ds.name} {name} s{seed} {rname}")
                        trace = replay(factory(ctx), prep, seed=seed)
                        m = score_trace(trace, prep, ref)
                        m["share_curve"] = _rolling_share(trace.chosen, _focus(prep, ref), 100)
                        runs[rname].append(m)
                        bar.update()
                entry["models"] = list(stream.models)
                entry["stream_length"] = len(stream)
                entry["scenarios"][name] = summarise(runs, refs, prep)
                logger.info("replay %s %s done", ds.name, name)
            out["datasets"][ds.name] = entry
    return out


def _factories(routers: Mapping[str, RouterFactory] | Sequence[str] | None) -> dict[str, RouterFactory]:
    if routers is None:
        return {r: ROUTERS[r] for r in DEFAULT_ROUTERS}
    if isinstance(routers, Mapping):
        return dict(routers)
    unknown = [r for r in routers if r not in ROUTERS]
    if unknown:
        raise ReplayError(f"routers must be among {list(ROUTERS)}, got unknown {unknown}")
    return {r: ROUTERS[r] for r in routers}


def _focus(prep, ref) -> int:
    """The model whose traffic the share curve follows: drifted / newcomer model, else best fixed."""
    return prep.special if prep.special is not None else ref.fixed_model


def _ref_summary(prep, ref) -> dict:
    s = prep.stream
    return {
        "oracle_utility": float(ref.oracle_utility.mean()),
        "fixed_utility": float(ref.fixed_utility.mean()),
        "fixed_model": s.models[ref.fixed_model],
        "oracle_cost": float(s.costs[np.arange(len(s)), ref.oracle_choice].mean()),
        "fixed_cost": float(s.costs[:, ref.fixed_model].mean()),
        "oracle_grade": float(s.grades[np.arange(len(s)), ref.oracle_choice].mean()),
        "fixed_grade": float(s.grades[:, ref.fixed_model].mean()),
        "oracle_share_thirds": thirds_share(ref.oracle_choice, len(s.models)).tolist(),
        "focus_model": s.models[_focus(prep, ref)],
        "target_cost": prep.target_cost,
        "events": list(prep.events),
    }


SCALARS = ("utility", "grade", "cost", "regret", "headroom", "overshoot", "choose_ms_p50", "step_ms_p50",
           "n_explored", "drift_share_before", "drift_share_after", "drift_regret_before",
           "drift_regret_after_repair", "newcomer_final_share", "newcomer_steps_to_80pct",
           "newcomer_tries_first_20")  # fmt: skip


def summarise(runs: Mapping[str, list[dict]], refs: list[dict], prep) -> dict:
    """Mean +- s.e. over seeds of every scalar; mean curves; mean traffic share per third."""
    routers = {}
    curves = {}
    for rname, ms in runs.items():
        stats = {k: _mean_se([m.get(k) for m in ms]) for k in SCALARS}
        stats = {k: v for k, v in stats.items() if v is not None}
        stats["share_thirds"] = np.mean([m["share_thirds"] for m in ms], axis=0).tolist()
        routers[rname] = stats
        curves[rname] = {
            "regret": _sample(np.mean([m["regret_curve"] for m in ms], axis=0)).tolist(),
            "share": _sample(np.mean([m["share_curve"] for m in ms], axis=0)).tolist(),
        }
    ref_stats = {k: _mean_se([r[k] for r in refs]) for k in refs[0] if isinstance(refs[0][k], float)}
    oracle_share = np.mean([r["oracle_share_thirds"] for r in refs], axis=0).tolist()
    return {
        "routers": routers,
        "references": {**ref_stats, "fixed_model": refs[0]["fixed_model"],
                       "focus_model": refs[0]["focus_model"], "events": refs[0]["events"],
                       "oracle_share_thirds": oracle_share},
        "curves": curves,
        "steps": len(prep.stream),
    }  # fmt: skip
