"""timed_median: cheap steps are timed as the median of runs on copies; the state advances once."""

from __future__ import annotations

import numpy as np

from eagle_core.evaluation import Router
from eagle_core.evaluation._online import MAX_REPEATS, timed_median


class Counter(Router):
    incremental = True

    def __init__(self, repeatable: bool = True) -> None:
        self.seen = 0
        self.repeatable_timing = repeatable

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> Counter:
        self.seen = len(X)
        return self

    def partial_fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> Counter:
        self.seen += len(X)
        return self


ARGS = (np.zeros((3, 2)), np.zeros((3, 2)), ["a", "b", "c"])


def test_a_fast_step_is_repeated_on_copies_and_applied_once() -> None:
    router = Counter().fit(*ARGS)
    updated, seconds, runs = timed_median(router, "partial_fit", ARGS)
    assert runs == MAX_REPEATS and seconds >= 0.0
    assert updated.seen == 6  # one increment, not MAX_REPEATS of them
    assert router.seen == 3  # the caller's router is left as it was


def test_a_router_that_cannot_be_copied_runs_once_in_place() -> None:
    router = Counter(repeatable=False).fit(*ARGS)
    updated, _, runs = timed_median(router, "partial_fit", ARGS)
    assert runs == 1 and updated is router and router.seen == 6
