"""Human-vote prediction: fit Eagle on the votes of some prompts, predict held-out human winners.

Prompts are split 70/30 with the protocol's seeded split. ``judges`` selects whose votes count
(``("human",)`` by default, ``None`` for every judge): the engine ingests the selected judges'
votes on the training prompts in file order; for each of their held-out votes (a vs b on prompt
x) the predicted probability that a wins is the ELO expectation E(R_a − R_b) with R = the global
ratings ("global") or the combined Eagle score for x ("eagle"). Ties are excluded from both
metrics (their count is reported). A selection that matches no vote is an error naming the
judges the file holds (a per-person file, ``author_3``, ``expert_0``..., has no ``human``).
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import numpy as np

from eagle_core._errors import EagleError
from eagle_core.datasets import RoutingDataset, Vote

__all__ = ["JudgeSelectionError", "evaluate_votes", "select_judges"]


class JudgeSelectionError(EagleError, ValueError):
    """``judges`` selects no vote of the votes file (the message lists the judges it holds)."""


def select_judges(votes: tuple[Vote, ...], judges: tuple[str, ...] | None, name: str = "votes") -> list[Vote]:
    """The votes whose judge is in ``judges`` (every vote for ``None``); raises
    :class:`JudgeSelectionError` when that leaves none."""
    if judges is not None and not judges:
        raise JudgeSelectionError(f"judges must name at least one judge, or be None for all; got {judges!r}")
    kept = [v for v in votes if judges is None or v.judge in judges]
    if not kept:
        held = sorted({v.judge for v in votes})
        raise JudgeSelectionError(
            f"judges {list(judges or ())} select no vote of {name!r}; its votes.csv holds the judges "
            f"{held}: pass some of those (eagle bench --judges {' '.join(held[:3])} ...; --judges all "
            "for every judge)"
        )
    return kept


def _expected(ra: float, rb: float) -> float:
    return 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0))


def evaluate_votes(
    ds: RoutingDataset,
    embedder: Any,
    config: Any = None,
    *,
    judges: tuple[str, ...] | None = ("human",),
    seed: int = 42,
    train_frac: float = 0.7,
) -> dict[str, Any]:
    """``{"accuracy": {"global", "eagle"}, "log_loss": {...}, "n_train_votes", ...}``."""
    from eagle_core import Eagle

    if not ds.votes:
        raise ValueError(f"dataset {ds.name!r} has no votes.csv; nothing to evaluate")
    votes = select_judges(ds.votes, judges, ds.name)
    train, test = ds.split(seed=seed, train_frac=train_frac)
    train_ids = {ds.prompt_ids[i] for i in train}
    test_ids = {ds.prompt_ids[i] for i in test}
    text = dict(zip(ds.prompt_ids, ds.prompts, strict=True))
    models = sorted({m for v in votes for m in (v.model_a, v.model_b)})
    eagle = Eagle(
        models={m: None for m in models},
        collection=f"votes-{uuid.uuid4().hex[:12]}",
        embedder=embedder,
        config=config,
    )
    items = []
    for v in votes:
        if v.prompt_id not in train_ids:
            continue
        if v.winner == "tie":
            items.append({"query": text[v.prompt_id], "winner": v.model_a, "loser": v.model_b,
                          "tie": True})  # fmt: skip
        else:
            win, lose = (v.model_a, v.model_b) if v.winner == "model_a" else (v.model_b, v.model_a)
            items.append({"query": text[v.prompt_id], "winner": win, "loser": lose})
    eagle.record_many(items, progress=False)
    ratings: dict[str, dict[str, tuple[float, float]]] = {}
    for pid in sorted(test_ids):
        d = eagle.route(text[pid], explore=False)
        ratings[pid] = {s.model: (s.global_rating, s.combined) for s in d.ranking}
    probs: dict[str, list[float]] = {"global": [], "eagle": []}
    n_ties = 0
    for v in votes:
        if v.prompt_id not in test_ids:
            continue
        if v.winner == "tie":
            n_ties += 1
            continue
        win, lose = (v.model_a, v.model_b) if v.winner == "model_a" else (v.model_b, v.model_a)
        r = ratings[v.prompt_id]
        probs["global"].append(_expected(r[win][0], r[lose][0]))
        probs["eagle"].append(_expected(r[win][1], r[lose][1]))
    eagle.close()
    out: dict[str, Any] = {"accuracy": {}, "log_loss": {}}
    for key, p in probs.items():
        arr = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
        # a 50/50 prediction counts half right (no side is preferred)
        out["accuracy"][key] = float(np.mean(np.where(arr > 0.5, 1.0, np.where(arr == 0.5, 0.5, 0))))
        out["log_loss"][key] = float(-np.mean(np.log(arr))) if len(arr) else math.nan
    out.update(
        n_train_votes=len(items),
        n_test_votes=len(probs["eagle"]),
        n_test_ties_excluded=n_ties,
        n_train_prompts=len(train_ids),
        n_test_prompts=len(test_ids),
        judges=sorted({v.judge for v in votes}) if judges is None else list(judges),
    )
    return out
