"""ELO arithmetic (Eagle paper, Eq. 1-2) and the score normalisations used before the cost rule.

Pure functions over ``dict[str, float]`` ratings so the engine, the evaluation harness and the tests all
share one implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence

__all__ = ["Pair", "expected_score", "normalize", "replay", "update"]

Pair = tuple[str, str, float, float]
"""One match ready to apply: (model_a, model_b, S for a in [0, 1], weight multiplying K)."""


def expected_score(rating: float, opponent: float) -> float:
    """E = 1 / (1 + 10^((R_opp - R) / 400))."""
    return 1.0 / (1.0 + 10.0 ** ((opponent - rating) / 400.0))


def update(ratings: MutableMapping[str, float], a: str, b: str, s: float, k: float) -> float:
    """Apply one match in place: R_a += K(S-E), R_b -= K(S-E); returns the change of R_a."""
    ra = ratings[a]
    rb = ratings[b]
    delta = k * (s - 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0)))
    ratings[a] = ra + delta
    ratings[b] = rb - delta
    return delta


def replay(ratings: MutableMapping[str, float], pairs: Iterable[Pair], k: float) -> None:
    """Apply matches in order, in place; matches naming a model not in ``ratings`` are skipped.

    Inlined rather than calling :func:`update` because local ratings replay ~1k matches per route.
    """
    for a, b, s, w in pairs:
        ra = ratings.get(a)
        rb = ratings.get(b)
        if ra is None or rb is None:
            continue
        delta = k * w * (s - 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0)))
        ratings[a] = ra + delta
        ratings[b] = rb - delta


def normalize(scores: Mapping[str, float], method: str, par: float = 1500.0) -> dict[str, float]:
    """Map combined ratings to q in [0, 1] for RouterBench's rule argmax(q*lambda - cost).

    ``winprob``: mean expected score against every other model (a probability, so the scale of q
    does not depend on the rating scale); ``minmax``: (s-min)/(max-min); ``max``: s/max;
    ``expected``: the expected score against the virtual opponent ``par`` of rated answers
    (:mod:`eagle_core._glicko`), i.e. the predicted grade, on the scale the cost rule prices.
    A single model, or all models equal under ``minmax``, gets q = 1.
    """
    names: Sequence[str] = list(scores)
    if len(names) <= 1 and method != "expected":
        return {name: 1.0 for name in names}
    if method == "expected":
        return {name: expected_score(scores[name], par) for name in names}
    if method == "winprob":
        out = {}
        for name in names:
            r = scores[name]
            total = sum(expected_score(r, scores[o]) for o in names if o != name)
            out[name] = total / (len(names) - 1)
        return out
    low, high = min(scores.values()), max(scores.values())
    if method == "minmax" or high <= 0:
        span = high - low
        return {n: 1.0 if span == 0 else (scores[n] - low) / span for n in names}
    if method == "max":
        return {n: max(0.0, scores[n] / high) for n in names}
    raise ValueError(f"normalization must be 'winprob', 'minmax' or 'max', got {method!r}")
