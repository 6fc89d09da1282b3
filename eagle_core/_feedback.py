"""Turning every kind of feedback into ELO matches, with validation that names the bad value.

* ``comparison``: winner beats loser (S=1), or a draw with ``tie=True``.
* ``scores``: per-model scores for one query; every unordered pair becomes one match, the higher score
  wins, equal scores draw (RouterBench-style 0/1 grades give many draws). When every score is a
  grade in [0, 1] the event also stores each model's grade as a rated answer (a match against
  :data:`~eagle_core._glicko.PAR`); the fold reads those only for its graded ratings
  (``EagleConfig.graded_scores``), never for the pairwise ones, so offline Eagle is unchanged.
* ``thumbs``: a thumb up (or down, or a score x in [0, 1]) on one model's answer becomes one match of
  that model against a virtual opponent of fixed rating (:data:`eagle_core._glicko.PAR`) with S = 1
  (0, or x): only the rated model moves; models that were not rated keep their ratings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eagle_core._errors import InvalidFeedbackError, InvalidQueryError, UnknownModelError
from eagle_core._event import RawPair
from eagle_core._glicko import PAR
from eagle_core._numbers import is_finite_number
from eagle_core._sources import check_source

__all__ = [
    "check_model",
    "check_source",
    "check_query",
    "comparison_pairs",
    "parse_item",
    "score_pairs",
    "split_scores",
    "thumbs_pairs",
    "unit_score",
]


def check_query(query: Any) -> str:
    if not isinstance(query, str):
        raise InvalidQueryError(f"query must be a non-empty string, got {type(query).__name__} {query!r}")
    if not query.strip():
        raise InvalidQueryError(f"query must be a non-empty string, got {query!r}")
    return query


def check_model(name: Any, models: Sequence[str], role: str = "model") -> str:
    if not isinstance(name, str) or name not in models:
        raise UnknownModelError(
            f"{role} must be one of the engine's models {list(models)}, got {name!r}; "
            "add it first with eagle.add_model(name, cost)"
        )
    return name


def comparison_pairs(winner: Any, loser: Any, tie: Any, models: Sequence[str]) -> tuple[RawPair, ...]:
    check_model(winner, models, "winner")
    check_model(loser, models, "loser")
    if not isinstance(tie, bool):
        raise InvalidFeedbackError(f"tie must be True or False, got {tie!r}")
    if winner == loser:
        raise InvalidFeedbackError(
            f"winner and loser must be different models, got {winner!r} twice"
        )
    return ((winner, loser, 0.5 if tie else 1.0, 1.0, tie),)


def unit_score(name: str, value: Any) -> float:
    if not is_finite_number(value):
        raise InvalidFeedbackError(f"{name} must be a finite number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise InvalidFeedbackError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def score_pairs(scores: Any, models: Sequence[str]) -> tuple[RawPair, ...]:
    if not isinstance(scores, Mapping):
        raise InvalidFeedbackError(
            f"scores must be a mapping model -> score, got {type(scores).__name__} {scores!r}"
        )
    if len(scores) < 2:
        raise InvalidFeedbackError(
            f"scores must name at least two models to compare, got {dict(scores)!r}"
        )
    for name, value in scores.items():
        check_model(name, models, "scores key")
        if not is_finite_number(value):
            raise InvalidFeedbackError(
                f"score of model {name!r} must be a finite number, got {value!r}"
            )
    names = list(scores)
    pairs: list[RawPair] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            sa, sb = scores[a], scores[b]
            draw = sa == sb
            pairs.append((a, b, 0.5 if draw else (1.0 if sa > sb else 0.0), 1.0, draw))
    if all(0.0 <= scores[m] <= 1.0 for m in names):  # grades: also one rated answer per model
        pairs.extend((m, PAR, float(scores[m]), 1.0, False) for m in names)
    return tuple(pairs)


def split_scores(pairs: Sequence[RawPair]) -> tuple[list[RawPair], list[RawPair]]:
    """A score set's stored matches -> (its pairwise matches, its per-model grades as rated
    answers against :data:`~eagle_core._glicko.PAR`; empty for scores that are not grades or for
    events logged before grades were stored)."""
    pairwise = [p for p in pairs if p[1] != PAR]
    return pairwise, [p for p in pairs if p[1] == PAR]


def thumbs_pairs(model: Any, value: Any, models: Sequence[str]) -> tuple[RawPair, ...]:
    """``value``: True/False (thumb up/down) or a score in [0, 1]: one match of ``model`` against
    the virtual opponent :data:`~eagle_core._glicko.PAR` (only ``model`` moves)."""
    check_model(model, models)
    s = (1.0 if value else 0.0) if isinstance(value, bool) else unit_score("thumbs score", value)
    return ((model, PAR, s, 1.0, False),)


def parse_item(item: Any, models: Sequence[str]) -> tuple[str, str, tuple[RawPair, ...], str | None]:
    """One ``record_many`` item -> (kind, query, pairs, source); raises with the item's content on
    error. ``source`` (optional) is who gave it, as in ``record_*(..., source=)``."""
    if not isinstance(item, Mapping):
        raise InvalidFeedbackError(
            "record_many items must be dicts like {'query', 'scores'} or {'query', 'winner', 'loser'} "
            f"or {{'query', 'model', 'thumbs'}}, got {item!r}"
        )
    query = check_query(item.get("query"))
    source = check_source(item.get("source"))
    if "scores" in item:
        return "scores", query, score_pairs(item["scores"], models), source
    if "winner" in item or "loser" in item:
        return "comparison", query, comparison_pairs(
            item.get("winner"), item.get("loser"), item.get("tie", False), models
        ), source
    if "thumbs" in item or "score" in item:
        value = item["thumbs"] if "thumbs" in item else item["score"]
        return "thumbs", query, thumbs_pairs(item.get("model"), value, models), source
    raise InvalidFeedbackError(
        f"record_many item must have 'scores', 'winner'/'loser' or 'model'+'thumbs', got keys "
        f"{sorted(item)!r}"
    )
