"""Engine configuration: the paper's hyper-parameters plus the choices the paper leaves open."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from eagle_core._errors import ConfigError
from eagle_core._numbers import is_finite_number, is_number

__all__ = ["EagleConfig"]

Normalization = Literal["auto", "winprob", "minmax", "max", "expected"]
LocalOrder = Literal["farthest_first", "nearest_first"]
Exploration = Literal["thompson", "ucb"]


@dataclass(frozen=True)
class EagleConfig:
    """Hyper-parameters of the Eagle router.

    ``EagleConfig.paper()`` is the literal reading of arXiv 2409.15518 (P=0.5, N=20, K=32 everywhere).
    The defaults (P=0.6, N=80, local K=2, global K=0.5, draws dropped, min-max normalisation for
    pairwise feedback) were
    chosen on validation splits carved from the training data of three datasets, never on test, within
    the route-latency budget; docs/METHOD.md says why.
    """

    p: float = 0.6
    """Weight of the global rating in ``P*global + (1-P)*local``."""
    n_neighbors: int = 80
    """N: how many nearest *distinct* past queries are replayed for the local rating."""
    k: float = 2.0
    """ELO K-factor used when replaying the neighbours' comparisons (local ratings)."""
    global_k: float | None = 0.5
    """K-factor of the incremental global pass; ``None`` means the same as ``k``. Small on purpose:
    with K=32 sequential ELO over thousands of matches acts like a short moving average of the
    latest few dozen matches (ratings swing ±45 points between orderings of the same data)."""
    initial_rating: float = 1500.0
    """Rating of a model before any feedback (and of a model added at run time)."""
    draw_score: float | None = None
    """Score S of a draw (equal scores, ``tie=True``); ``None`` drops draws (the default: with 0/1
    grades most pairs are draws and scoring them 0.5 only pulls every rating together)."""
    normalization: Normalization = "auto"
    """How combined ratings become q in [0, 1] for the cost rule: ``minmax`` = (s-min)/(max-min);
    ``winprob`` = mean expected win probability against the other models; ``max`` = s/max;
    ``expected`` = expected score against the virtual opponent of rated answers (the predicted
    grade); ``auto`` (default) = ``expected`` once the log holds rated answers (thumbs/scores on
    one model anchor ratings to grades) from the operator or, with ``source_defence``, from at least
    three distinct sources, else ``minmax`` (pairwise-only logs: offline Eagle)."""
    local_order: LocalOrder = "farthest_first"
    """Replay order of the neighbours: farthest first lets the most similar query act last (ELO weighs
    recent matches most)."""
    sync_interval: float | None = None
    """Seconds between re-reads of the shared store for feedback written by other processes;
    ``None`` = only this process writes (no re-reads)."""
    max_decisions: int = 10_000
    """How many recent decisions are remembered for ``record_feedback(decision_id, ...)``."""
    decision_retention: float | None = 7 * 86400.0
    """Seconds a routing decision is kept in the store, so ``record_feedback(decision_id, ...)``
    works from any worker sharing it; ``None`` = decisions stay in the routing process only."""
    decision_wait: float = 2.0
    """How long ``record_feedback`` waits for a decision another worker routed but has not written
    yet (decisions are written behind the route) before raising ``UnknownDecisionError``."""
    embedding_cache_size: int = 4096
    """How many query embeddings are cached by text (one embedding per route+feedback cycle)."""
    source_defence: bool = True
    """Bound what one feedback ``source`` (user, tenant, API key) can do: its global and local
    budgets below, a share of the neighbour slots, and duplicates counted once. Feedback with
    ``source=None`` (the operator's own) is never limited. ``False`` counts every source in full."""
    source_budget: float = 20.0
    """Units (one unit = the most a comparison or a thumb moves one model) a source may spend on
    the global ratings. One source moves any global rating by at most ``global_k * source_budget``
    points: its pairwise matches by the budget, its rated answers (Glicko steps) by clipping."""
    source_local_budget: float = 10.0
    """Units one source's matches carry, in total, in one route's local replay (a score set over
    11 models is 10 units, so one honest labelled query still counts in full); its rated answers
    there move a model by at most ``k * source_local_budget`` points."""
    source_neighbor_share: float = 0.1
    """Largest share of the N neighbour slots that queries with feedback from a single source may
    fill (so a flood of texts near one topic cannot crowd the other neighbours out)."""
    store_timeout: float | None = 5.0
    """Seconds one Chroma request may take; a store that does not answer in time puts the engine in
    degraded mode (routes skip the neighbour search, writes raise ``StoreUnavailableError`` at once)
    until a probe every ``store_retry_interval`` seconds gets an answer. ``None`` waits forever."""
    store_retry_interval: float = 5.0
    """Seconds between probes of a store that timed out (how soon writes work again after it
    recovers)."""
    explore: bool = True
    """Serve by exploration (``route(..., explore=False)`` turns it off per call): sometimes send a
    query to a model whose rating near it is uncertain and might be the best (docs/METHOD.md)."""
    exploration: Exploration = "thompson"
    """``thompson``: draw each model's rating from N(combined, (explore_scale*deviation)^2);
    ``ucb``: add explore_scale*deviation."""
    explore_scale: float = 0.5
    """Multiplier of the deviation in the draws (0 = no exploration)."""
    explore_share: float = 0.2
    """Share of routes that may serve another model than the ranking's choice while every served
    answer is rated at once. When only a share rho of the routes has brought a rating back (sparse
    or late feedback), the share may rise to ``explore_share / rho``, up to ``max_explore_share``
    (docs/METHOD.md, "Exploration under sparse feedback")."""
    max_explore_share: float = 0.35
    """Hard bound: at most this share of routes ever serves another model than the ranking's
    choice, however sparse or late the feedback (``max_explore_share=explore_share`` gives the
    fixed share of earlier versions; a smaller value than ``explore_share`` wins). 0.35 chosen on
    validation streams (docs/BENCHMARKS.md, "Exploration under sparse feedback")."""
    explore_fade: bool = False
    """Scale the share bound on each route by the evidence on the ranking leader's plausible
    rivals near the query: their mean deviation over ``rd_initial`` (a rival: a model whose utility
    at rating + deviation reaches the leader's at rating - deviation; 0 when none is left), so the
    bound is full while nothing is known and tightens as the rivals are rated or ruled out
    (docs/METHOD.md, "Exploration that fades with the rivals' evidence"). Off by default: on
    validation streams (64 seeds, with ``explore_share=0.3``) it explores less (warm: RouterBench
    137 -> 96 routes, arena_bench 37 -> 12) but the mean regret over the scenarios is unchanged
    and RouterBench cold is worse (docs/BENCHMARKS.md, "Exploration that fades")."""
    rd_initial: float = 200.0
    """Deviation (rating points) of a model with no evidence: how far a model's rating may lie from
    the population's mean rating (a model with none is routed at that mean, docs/METHOD.md). 200
    points is ±1.15 in log-odds of a good answer, the spread of the models' log-odds around their
    mean on the training splits (RouterBench 93, arena_bench 198 points); Glicko's 350 (chess
    players, around a fixed par) moved an untried model by 175 points on its first thumb."""
    rd_local: float = 100.0
    """How far (rating points, one deviation) a model's rating near one query may stray from its
    global rating before that neighbourhood's own evidence says so."""
    half_life: float | None = 300.0
    """Forgetting: evidence (rated answers and the deviations' information) counts half after this
    many feedback events; ``None`` = never forgotten."""
    graded_scores: bool = True
    """Read score sets of grades (every score in [0, 1], ``record_scores``) as one rated answer per
    model, like a thumb on each, in the global ratings and deviations routing reads once rated
    answers anchor the log (``normalization="auto"`` then predicts grades); their pairwise matches
    still drive the local replay. A log of score sets alone (offline Eagle) is read pairwise, as
    before. ``False``: score sets are ELO matches at ``global_k`` in every log (docs/METHOD.md,
    "Full feedback next to rated answers")."""
    price_prior: bool = False
    """Route a model with little evidence at what models of its price have earned: the population
    mean the ratings are re-centred on becomes a line in the log price per call, fitted on the
    models with evidence. Off by default: it helps where price predicts quality (arena_bench) and
    hurts where it does not (RouterBench cold); docs/METHOD.md, "A price-aware population"."""
    grade_dispersion: float | None = None
    """How much less a graded answer (a score in [0, 1]) varies than a thumb; a rated answer's
    weight (its information and its step) is divided by it. ``None`` (default): estimated from the
    rated answers folded so far, 1 - sum s(1-s) / sum E(1-E) (1 exactly for thumbs and 0/1 grades,
    about 0.5 for arena_bench's judge marks; at least 0.25). ``1.0``: Glicko's Bernoulli reading
    of every answer (earlier versions). docs/METHOD.md, "Graded answers carry more than a thumb"."""
    burn_in: int = 20
    """Forced tries of a model added at run time, until it has this many rated answers."""
    pacing_rate: float = 0.1
    """Step of the budget pacer's dual update (``Eagle(target_cost_per_request=...)``); 0.1 chosen on
    validation streams (docs/BENCHMARKS.md, "Budget pacing on actual costs")."""
    seed: int | None = None
    """Seed of the exploration sampler (``None`` = fresh entropy)."""

    def __post_init__(self) -> None:
        _check_range("p", self.p, 0.0, 1.0)
        n = self.n_neighbors
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ConfigError(f"n_neighbors must be an int >= 0, got {self.n_neighbors!r}")
        _check_positive("k", self.k)
        if self.global_k is not None:
            _check_positive("global_k", self.global_k)
        _check_finite("initial_rating", self.initial_rating)
        if self.draw_score is not None:
            _check_range("draw_score", self.draw_score, 0.0, 1.0)
        if self.normalization not in ("auto", "winprob", "minmax", "max", "expected"):
            raise ConfigError(
                "normalization must be 'auto', 'winprob', 'minmax', 'max' or 'expected', got "
                f"{self.normalization!r}"
            )
        if self.local_order not in ("farthest_first", "nearest_first"):
            raise ConfigError(
                f"local_order must be 'farthest_first' or 'nearest_first', got {self.local_order!r}"
            )
        if self.sync_interval is not None:
            _check_range("sync_interval", self.sync_interval, 0.0, math.inf)
        if not isinstance(self.source_defence, bool):
            raise ConfigError(f"source_defence must be True or False, got {self.source_defence!r}")
        _check_range("source_budget", self.source_budget, 0.0, math.inf)
        _check_range("source_local_budget", self.source_local_budget, 0.0, math.inf)
        _check_range("source_neighbor_share", self.source_neighbor_share, 0.0, 1.0)

        if self.decision_retention is not None:
            _check_positive("decision_retention", self.decision_retention)
        _check_range("decision_wait", self.decision_wait, 0.0, 600.0)
        if self.store_timeout is not None:
            _check_positive("store_timeout", self.store_timeout)
        _check_positive("store_retry_interval", self.store_retry_interval)
        if not isinstance(self.explore, bool):
            raise ConfigError(f"explore must be True or False, got {self.explore!r}")
        if self.exploration not in ("thompson", "ucb"):
            raise ConfigError(f"exploration must be 'thompson' or 'ucb', got {self.exploration!r}")
        _check_range("explore_scale", self.explore_scale, 0.0, math.inf)
        _check_range("explore_share", self.explore_share, 0.0, 1.0)
        _check_range("max_explore_share", self.max_explore_share, 0.0, 1.0)
        if not isinstance(self.explore_fade, bool):
            raise ConfigError(f"explore_fade must be True or False, got {self.explore_fade!r}")
        _check_positive("rd_initial", self.rd_initial)
        _check_range("rd_local", self.rd_local, 0.0, math.inf)
        if self.half_life is not None:
            _check_positive("half_life", self.half_life)
        _check_positive("pacing_rate", self.pacing_rate)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ConfigError(f"seed must be an int or None, got {self.seed!r}")
        for name in ("max_decisions", "embedding_cache_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
        if not isinstance(self.graded_scores, bool):
            raise ConfigError(f"graded_scores must be True or False, got {self.graded_scores!r}")
        if not isinstance(self.price_prior, bool):
            raise ConfigError(f"price_prior must be True or False, got {self.price_prior!r}")
        if self.grade_dispersion is not None:
            _check_positive("grade_dispersion", self.grade_dispersion)
        if isinstance(self.burn_in, bool) or not isinstance(self.burn_in, int) or self.burn_in < 0:
            raise ConfigError(f"burn_in must be an int >= 0, got {self.burn_in!r}")

    @classmethod
    def paper(cls, **overrides: Any) -> EagleConfig:
        """The literal reading of the paper: P=0.5, N=20, K=32 for global and local, draws = 0.5, and
        q = mean expected win probability (the paper does not say how scores are normalised)."""
        base = cls(p=0.5, n_neighbors=20, k=32.0, global_k=32.0, draw_score=0.5, normalization="winprob")
        return replace(base, **overrides)

    @property
    def effective_global_k(self) -> float:
        return self.k if self.global_k is None else self.global_k

    def replace(self, **changes: Any) -> EagleConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_finite(name: str, value: Any) -> None:
    if not is_finite_number(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


def _check_positive(name: str, value: Any) -> None:
    _check_finite(name, value)
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    if not is_number(value) or math.isnan(value):
        raise ConfigError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be in [{low}, {high}], got {value!r}")
