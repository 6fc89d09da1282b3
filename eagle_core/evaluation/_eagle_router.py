"""The benchmark's ``eagle`` and ``eagle_paper`` routers, backed by the real engine.

Each router builds an :class:`eagle_core.Eagle` on its private in-memory Chroma store, streams the
training prompts' scores as feedback (``record_many``), then routes each test prompt once and
reads every model's normalised score from ``RouteDecision.ranking``; the λ rule is applied
offline for all λ. The embedder is a callable returning cached vectors, so timing excludes
embedding. When the engine cannot be imported the numpy re-statement is used (logged).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import numpy as np

from eagle_core.evaluation._baselines import Router
from eagle_core.evaluation._eagle_numpy import EagleParams, NumpyEagleRouter

__all__ = ["EngineEagleRouter", "eagle_factories", "engine_available", "lookup_embedder"]

logger = logging.getLogger(__name__)


def engine_available() -> bool:
    try:
        from eagle_core import Eagle, EagleConfig  # noqa: F401
    except ImportError:
        return False
    return True


class lookup_embedder:  # noqa: N801 - a function-like callable
    """Callable ``list[str] -> (n, d)`` answering from a text -> vector table (never embeds).

    A text that is not in the table (the engine's dimension probe) gets the unit vector e_0 and is
    counted in ``misses``; the benchmark pre-registers every prompt it routes or records.
    """

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self._table = {t: v for t, v in zip(texts, np.asarray(vectors), strict=True)}
        self._dim = np.asarray(vectors).shape[1]
        self.misses: list[str] = []

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        self._table.update(zip(texts, np.asarray(vectors), strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            vec = self._table.get(t)
            if vec is None:
                self.misses.append(t)
                out[i, 0] = 1.0
            else:
                out[i] = vec
        return out


class EngineEagleRouter(Router):
    """Eagle via the real engine (in-memory Chroma) with a given EagleConfig."""

    incremental = True
    repeatable_timing = False  # a Chroma collection cannot be deep-copied: its steps run once

    def __init__(self, config: Any = None, name: str = "eagle") -> None:
        self.config = config
        self.name = name

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> EngineEagleRouter:
        from eagle_core import Eagle

        m = scores.shape[1]
        self._models = [f"m{j}" for j in range(m)]
        self._embedder = lookup_embedder(prompts, X)
        if getattr(self, "_eagle", None) is not None:
            self._eagle.close()  # a refit starts afresh; drop the old in-memory store
        self._eagle = Eagle(
            models={name: 0.0 for name in self._models},
            collection=f"bench-{uuid.uuid4().hex[:12]}",
            embedder=self._embedder,
            config=self.config,
        )
        return self.partial_fit(X, scores, prompts)

    def partial_fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> EngineEagleRouter:
        """Stream new feedback into the engine (incremental global update, Chroma add)."""
        self._embedder.add(prompts, X)
        items = [
            {"query": p, "scores": {self._models[j]: float(s[j]) for j in range(len(s))}}
            for p, s in zip(prompts, scores, strict=True)
        ]
        self._eagle.record_many(items, progress=False)
        return self

    @property
    def global_ratings(self) -> np.ndarray:
        """The engine's global ratings in column order (as :attr:`NumpyEagleRouter.global_ratings`)."""
        ratings = self._eagle.ratings
        return np.array([ratings[m] for m in self._models])

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        self._embedder.add(prompts, X)
        col = {name: j for j, name in enumerate(self._models)}
        q = np.zeros((len(prompts), len(self._models)))
        for i, p in enumerate(prompts):
            for ms in self._eagle.route(p, explore=False).ranking:
                q[i, col[ms.model]] = ms.normalized
        return q


def _numpy_params(config: Any) -> EagleParams:
    fields = EagleParams.__dataclass_fields__
    params = {f: getattr(config, f) for f in fields if hasattr(config, f)}
    if params.get("normalization") == "auto":  # full-information logs hold no rated answers
        params["normalization"] = "minmax"
    return EagleParams(**params)


def _validated_defaults() -> dict[str, Any]:
    from eagle_core import EagleConfig

    defaults = EagleConfig()
    names = ("p", "n_neighbors", "k", "global_k", "draw_score", "normalization", "local_order")
    return {name: getattr(defaults, name) for name in names}


RECOMMENDED: dict[str, Any] = _validated_defaults()
"""The configuration chosen on validation splits carved from the training 70% (docs/BENCHMARKS.md,
``benchmarks/tune_eagle.py``); it now *is* ``EagleConfig()``'s defaults, so it is read from there.
``eagle bench --eagle-config recommended`` uses it."""


def eagle_configs(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """``eagle``: the engine's shipped default config (with ``overrides`` applied, if any);
    ``eagle_paper``: ``EagleConfig.paper()``, the literal reading."""
    from eagle_core import EagleConfig

    base = EagleConfig()
    return {
        "eagle": base.replace(**overrides) if overrides else base,
        "eagle_paper": EagleConfig.paper(),
    }


def eagle_factories(backend: str = "auto", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Router factories for ``eagle`` and ``eagle_paper`` (``backend``: auto | engine | numpy)."""
    use_engine = backend == "engine" or (backend == "auto" and engine_available())
    if use_engine:
        configs = eagle_configs(overrides)
        return {name: (lambda c=c, n=name: EngineEagleRouter(c, n)) for name, c in configs.items()}
    logger.warning("eagle_core.Eagle not importable: using the numpy re-statement of Eagle")
    try:
        configs = {k: _numpy_params(v) for k, v in eagle_configs(overrides).items()}
    except ImportError:
        configs = {
            "eagle": EagleParams(global_k=4.0, k=4.0, normalization="winprob"),
            "eagle_paper": EagleParams(),
        }
    return {name: (lambda c=c, n=name: NumpyEagleRouter(c, n)) for name, c in configs.items()}
