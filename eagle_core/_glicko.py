"""Ratings with a deviation: what one rated answer means in ELO terms, and how sure we are.

A single rated answer (a thumb, or a score in [0, 1] on the model that served) is a *match against a
virtual opponent*, :data:`PAR`, whose rating is fixed at ``initial_rating``: the grade is the score S
of the served model in that match, and only the served model moves. Under the Bradley-Terry model
ELO assumes, ``R_m - par = SCALE * logit(p_m)`` where p_m is the chance that m's answer is rated good,
so a rating is the log-odds of a good answer on the 400-point scale; pairwise matches between 0/1
grades (draws dropped) measure the same differences, ``R_a - R_b = SCALE*(logit p_a - logit p_b)``,
so both kinds of feedback move one scale. Models that were not rated do not move.

Each model also carries *evidence* (Glicko's information, the inverse of the squared deviation):
every match adds ``w*E*(1-E)/SCALE^2``; it halves every ``half_life`` events, so a model nobody rates
grows uncertain again. A rated answer moves the rating by the Glicko step ``RD^2/SCALE * (S - E)``:
large while a model is unknown, small once it is well measured, larger again once it is stale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from eagle_core._elo import Pair

__all__ = ["DISPERSION_FLOOR", "LABEL", "PAR", "SCALE", "Dispersion", "Evidence", "clip_step", "decay",
           "glicko_step", "limited_step", "local_posterior", "population_prior"]

PAR = ""
"""Name of the virtual opponent of a single rated answer (no model can have an empty name)."""
LABEL = " "
"""Opponent name of a labelled grade in a query's match list: one model's grade from a score set
(``record_scores``), kept next to the set's pairwise matches. :func:`local_posterior` replays it as
a rated answer against :data:`PAR` only when asked to (``graded``); otherwise, and in the global
pairwise fold, it is skipped (no model's name is blank)."""
SCALE = 400.0 / math.log(10.0)
"""Rating points per unit of log-odds (about 173.7)."""
_PAIR_INFO = 0.25 / SCALE**2
"""Information of one match at E = 0.5 (the most informative outcome)."""
DISPERSION_FLOOR = 0.25
"""Smallest estimated dispersion: one rated answer counts at most as four thumbs, whatever the
grades (and whoever sends grades of 0.5 to shrink the estimate)."""
DISPERSION_PRIOR = 10.0
"""The estimate starts as if this many thumbs at E = 0.5 had been seen (dispersion 1), so a
handful of graded answers cannot swing it."""


class Dispersion:
    """How much less a graded answer varies than a thumb: the quasi-binomial dispersion phi of
    the rated answers, estimated from those folded so far (or fixed by ``grade_dispersion``).

    Glicko credits a rated answer with E(1-E)/SCALE^2 of information, the Fisher information of a
    0/1 outcome. A grade s in [0, 1] (a judge's 1-10 mark) with mean mu varies by
    mu(1-mu) - E[s(1-s)], less than a thumb; with variance phi * mu(1-mu) the information of one
    answer, and its step, are 1/phi times Glicko's (its weight is w/phi). Pooled over the answers,
    with E as mu: phi = 1 - sum w*s(1-s) / sum w*E(1-E) (plus :data:`DISPERSION_PRIOR` thumbs),
    at least :data:`DISPERSION_FLOOR`. Thumbs and 0/1 grades add nothing to the first sum, so a
    log of them keeps phi = 1 exactly (the Bernoulli reading, unchanged).

    Args:
        fixed: a fixed dispersion instead of the estimate (``None`` = estimate).
    """

    def __init__(self, fixed: float | None) -> None:
        self.fixed = fixed
        self.spread = 0.0
        self.expected = 0.0

    def copy(self) -> Dispersion:
        other = Dispersion(self.fixed)
        other.spread, other.expected = self.spread, self.expected
        return other

    def observe(self, s: float, rating: float, par: float, w: float) -> None:
        """One rated answer (grade ``s``, weight ``w``) on a model rated ``rating`` before it."""
        e = 1.0 / (1.0 + 10.0 ** ((par - rating) / 400.0))
        self.spread += w * s * (1.0 - s)
        self.expected += w * e * (1.0 - e)

    @property
    def value(self) -> float:
        if self.fixed is not None:
            return self.fixed
        if self.spread <= 0.0:
            return 1.0
        return max(DISPERSION_FLOOR, 1.0 - self.spread / (0.25 * DISPERSION_PRIOR + self.expected))


def decay(age: float, half_life: float | None) -> float:
    """Weight of evidence ``age`` events old: 2^(-age / half_life); 1 without forgetting."""
    if half_life is None or age <= 0:
        return 1.0
    return 0.5 ** (age / half_life)


def glicko_step(rating: float, rd2: float, s: float, par: float, w: float) -> tuple[float, float]:
    """One rated answer against an opponent of fixed rating ``par`` (Glicko with RD_opp = 0), with
    weight ``w``: returns the new rating and squared deviation."""
    e = 1.0 / (1.0 + 10.0 ** ((par - rating) / 400.0))
    rd2 = 1.0 / (1.0 / rd2 + w * e * (1.0 - e) / SCALE**2)
    return rating + rd2 * w / SCALE * (s - e), rd2


class Evidence:
    """Per-model information, decaying with a half-life in events (a pure fold; no I/O).

    Args:
        rd_initial: deviation of a model with no evidence (Glicko's 350).
        half_life: events after which evidence counts half; ``None`` = never forgotten.
    """

    def __init__(self, rd_initial: float, half_life: float | None) -> None:
        self.rd_initial = rd_initial
        self.half_life = half_life
        self._info: dict[str, float] = {}
        self._at: dict[str, int] = {}

    def copy(self) -> Evidence:
        other = Evidence(self.rd_initial, self.half_life)
        other._info, other._at = dict(self._info), dict(self._at)
        return other

    def info(self, model: str, now: int) -> float:
        """Information about ``model`` at event ``now`` (after forgetting)."""
        return self._info.get(model, 0.0) * decay(now - self._at.get(model, now), self.half_life)

    def add(self, model: str, amount: float, now: int) -> None:
        self._info[model] = self.info(model, now) + amount
        self._at[model] = now

    def forget(self, model: str) -> None:
        self._info.pop(model, None)
        self._at.pop(model, None)

    def rd2(self, model: str, now: int) -> float:
        """Squared deviation: 1 / (1/RD0^2 + information)."""
        return 1.0 / (1.0 / self.rd_initial**2 + self.info(model, now))

    def rate(self, ratings: dict[str, float], model: str, s: float, par: float, w: float,
             now: int, limit: Callable[[float], float] | None = None) -> None:
        """Fold a rated answer on ``model`` into ``ratings`` (in place) and into the evidence.
        ``limit`` clips the step (a stranger's, :meth:`~eagle_core._sources.SourceLedger.clip`;
        :func:`limited_step`)."""
        rating = ratings.get(model)
        if rating is None:
            return
        before = self.rd2(model, now)
        ratings[model], after = limited_step(rating, before, s, par, w, limit)
        self.add(model, 1.0 / after - 1.0 / before, now)

    def pair(self, a: str, b: str, w: float, now: int) -> None:
        """A pairwise match between ``a`` and ``b`` (rated by ELO elsewhere) is evidence for both."""
        self.add(a, w * _PAIR_INFO, now)
        self.add(b, w * _PAIR_INFO, now)


def limited_step(rating: float, rd2: float, s: float, par: float, w: float,
                 limit: Callable[[float], float] | None = None) -> tuple[float, float]:
    """:func:`glicko_step` with the rating's move clipped by ``limit`` (a stranger's bound) and the
    information it adds shrunk in proportion: a clipped step cannot make a model look better
    measured than what moved it (nor freeze it against later feedback)."""
    new, after = glicko_step(rating, rd2, s, par, w)
    if limit is None:
        return new, after
    step = new - rating
    kept = limit(step)
    share = kept / step if step else 1.0
    return rating + kept, 1.0 / (1.0 / rd2 + share * (1.0 / after - 1.0 / rd2))


def population_prior(ratings: Mapping[str, float], rd2: Mapping[str, float], *, par: float,
                     rd_initial: float, covariate: Mapping[str, float] | None = None) -> dict[str, float]:
    """Ratings re-centred on the population: a model's prior mean is the mean rating of the models
    with evidence, not ``par``.

    The fold starts every model at ``par`` (a 50 % chance of a good answer) with deviation
    ``rd_initial``. Among LLMs serving one workload that prior is biased: when most answers are
    good, a model never tried looks worse than every tried one; when most are poor, it looks better
    than all of them and wins every route untried. Hierarchically, models are draws from a
    population N(mu, rd_initial^2); in the Gaussian approximation Glicko makes, moving the prior
    mean from ``par`` to ``mu`` moves a posterior mean by ``(mu - par) * rd2 / rd_initial^2``: all
    of it for a model with no evidence, almost none for a well-measured one (and back towards mu
    as forgetting widens a stale model's deviation). ``mu`` is the random-effects mean of the models
    with evidence, each weighted 1 / (rd_initial^2 + rd2): every model counts once, a
    well-measured one at most twice as much as a barely tried one.

    ``covariate`` (e.g. each model's log price; models without one sit at the known models' mean):
    the population mean is a line in it instead of a constant, mu_m = mu + b * (x_m - x_known),
    fitted by the same weighted least squares with the slope's prior N(0, (rd_initial / sd x)^2)
    (the covariate may explain at most about the population's whole spread), so a model nobody
    has tried is routed at what models of its price have earned.
    """
    tau2 = rd_initial**2
    known = [m for m in ratings if rd2[m] < tau2 * (1.0 - 1e-9)]
    if not known:
        return dict(ratings)
    weights = [1.0 / (tau2 + rd2[m]) for m in known]
    total = sum(weights)
    mu = sum(w * ratings[m] for w, m in zip(weights, known, strict=True)) / total
    prior = dict.fromkeys(ratings, mu)
    if covariate:
        xs = [covariate.get(m) for m in known]
        have = [(w, x, ratings[m]) for w, x, m in zip(weights, xs, known, strict=True) if x is not None]
        spread = _spread([x for x in covariate.values()])
        if len(have) >= 2 and spread > 0:
            x0 = sum(w * x for w, x, _ in have) / sum(w for w, _, _ in have)
            sxx = sum(w * (x - x0) ** 2 for w, x, _ in have)
            sxy = sum(w * (x - x0) * (r - mu) for w, x, r in have)
            slope = sxy / (sxx + spread**2 / tau2)  # ridge: the slope's prior sd is tau / sd(x)
            prior = {m: mu + slope * (covariate[m] - x0) if m in covariate else mu for m in ratings}
    return {m: r + (prior[m] - par) * min(1.0, rd2[m] / tau2) for m, r in ratings.items()}


def _spread(values: Sequence[float]) -> float:
    """Standard deviation of ``values`` (0 for fewer than two)."""
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def local_posterior(ratings: Mapping[str, float], rd2: Mapping[str, float],
                    histories: Sequence[Sequence[Pair] | None], ages: Sequence[Sequence[int] | None],
                    *, k: float, par: float, rd_local: float, half_life: float | None,
                    pair_weight: float, farthest_first: bool,
                    owners: Sequence[Sequence[str | None] | None] | None = None,
                    source_cap: float | None = None, graded: bool = False,
                    dispersion: float = 1.0) -> tuple[dict[str, float], dict[str, float]]:
    """Local ratings and squared deviations for one query.

    Starts from the global ratings with deviation ``sqrt(rd2 + rd_local^2)`` (how far a model's
    rating in one neighbourhood may stray from its global rating) and replays the neighbours'
    matches: pairwise ones by the paper's ELO step with K = ``k`` (unchanged, so a pairwise-only log
    gives Eagle's local ratings exactly), rated answers against :data:`PAR` by the Glicko step,
    weighted by their age (``half_life``). ``histories``/``ages`` are nearest first; ``ages[i][j]``
    is how many events ago match ``histories[i][j]`` was recorded. ``pair_weight`` scales a pairwise
    match's evidence (1/(M-1): one full set of scores is about one rated answer per model).
    ``owners[i][j]`` is who gave match ``histories[i][j]`` (None: the operator); with a
    ``source_cap``, one source's rated answers move a model's local rating by at most that many
    points in all (their steps are clipped to what is left), as its pairwise matches are by the
    local budget (``k`` x units). ``graded``: a labelled grade (a match against :data:`LABEL`, one
    model's grade from a score set) is replayed as a rated answer too, so a labelled neighbour moves
    each model as a thumb on it would; otherwise labelled grades are skipped (a pairwise-only
    reading of score sets, as offline Eagle has it). ``dispersion``: rated answers count with weight
    w / dispersion (:class:`Dispersion`).
    """
    local = dict(ratings)
    dev = {m: v + rd_local**2 for m, v in rd2.items()}
    moved: dict[tuple[str, str], float] = {}
    order = range(len(histories) - 1, -1, -1) if farthest_first else range(len(histories))
    for i in order:
        pairs = histories[i]
        if not pairs:
            continue
        age = ages[i]
        who = owners[i] if owners is not None and source_cap is not None else None
        for j, (a, b, s, w) in enumerate(pairs):
            ra = local.get(a)
            if ra is None:
                continue
            wd = w * decay(age[j], half_life) if age is not None else w
            if b == LABEL:
                if not graded:
                    continue
                b = PAR
            if b == PAR:
                limit = None if who is None or who[j] is None else partial(
                    clip_step, moved, (who[j], a), cap=source_cap)  # a source's step: bounded
                local[a], dev[a] = limited_step(ra, dev[a], s, par, wd / dispersion, limit)
                continue
            rb = local.get(b)
            if rb is None:
                continue
            delta = k * w * (s - 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0)))
            local[a] = ra + delta
            local[b] = rb - delta
            info = wd * pair_weight * _PAIR_INFO
            dev[a] = 1.0 / (1.0 / dev[a] + info)
            dev[b] = 1.0 / (1.0 / dev[b] + info)
    return local, dev


def clip_step(moved: dict[tuple[str, str], float], key: tuple[str, str], step: float, cap: float) -> float:
    """``step`` clipped to what is left of ``cap`` points for ``key`` (source, model), and spent
    from ``moved`` (absolute points): one source's bounded share of a model's moves."""
    spent = moved.get(key, 0.0)
    left = max(0.0, cap - spent)
    step = max(-left, min(left, step))
    moved[key] = spent + abs(step)
    return step
