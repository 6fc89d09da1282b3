"""Automatic pairwise feedback: sometimes run a second model and let a judge pick the better answer.

This is the Eagle paper's optional feedback step. After the router has answered, with probability
``probability`` a background worker runs an *opponent* model on the same input, asks the judge which of
the two answers is better and records the comparison in the engine. The user's answer is never
delayed: the work happens in a thread pool after the answer (or the last streamed chunk) is out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from langchain_core.runnables import Runnable

from eagle_core import ConfigError, Judgement, parse_verdict
from eagle_core._judgement import Outcome, verdict_outcome
from eagle_langchain._text import output_text

__all__ = ["AutoJudge", "Judgement", "parse_verdict"]  # the last two: from eagle_core

logger = logging.getLogger(__name__)


class AutoJudge:
    """Background pairwise judging for :class:`~eagle_langchain.EagleRouter`.

    Args:
        judge: Decides which of two answers is better. A ``Runnable`` gets
            ``{"query": ..., "answer_a": ..., "answer_b": ...}`` (ready for a prompt template); a plain
            callable gets ``judge(query, answer_a, answer_b)``. Either returns ``"a"``, ``"b"``,
            ``"tie"`` or text containing ``[[A]]``/``[[B]]``/``[[C]]`` (see
            :func:`eagle_core.parse_verdict`; an unreadable verdict records nothing and is kept as
            the judgement's ``error``).
        probability: Chance that a routed answer is judged, in [0, 1].
        opponent: ``"random"`` (any other model: explores) or ``"runner_up"`` (the next-ranked one:
            the most informative comparison near the decision boundary).
        seed: Seed of the sampling and of the answer order (None: fresh randomness).
        swap: Show the two answers in random order, against the judges' position bias.
        max_workers: Threads running opponents and judges.
        keep: How many recent :class:`Judgement` records to keep.
    """

    def __init__(
        self,
        judge: Runnable[Any, Any] | Callable[[str, str, str], Any],
        probability: float = 0.1,
        *,
        opponent: Literal["random", "runner_up"] = "random",
        seed: int | None = None,
        swap: bool = True,
        max_workers: int = 2,
        keep: int = 1000,
    ) -> None:
        if not (isinstance(judge, Runnable) or callable(judge)):
            raise ConfigError(
                f"judge must be a Runnable or a callable(query, answer_a, answer_b), got {judge!r}"
            )
        if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not (
            0.0 <= probability <= 1.0
        ):
            raise ConfigError(f"probability must be a number in [0, 1], got {probability!r}")
        if opponent not in ("random", "runner_up"):
            raise ConfigError(f"opponent must be 'random' or 'runner_up', got {opponent!r}")
        if not isinstance(max_workers, int) or max_workers < 1:
            raise ConfigError(f"max_workers must be an int >= 1, got {max_workers!r}")
        self.judge = judge
        self.probability = probability
        self.opponent = opponent
        self.seed = seed
        self.swap = swap
        self.max_workers = max_workers
        self.keep = keep
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: set[concurrent.futures.Future[Judgement]] = set()
        self._judgements: deque[Judgement] = deque(maxlen=keep)

    def __repr__(self) -> str:
        return (
            f"AutoJudge(judge={self.judge!r}, probability={self.probability!r}, "
            f"opponent={self.opponent!r}, seed={self.seed!r})"
        )

    # -- read-only state ------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Judgements scheduled but not finished."""
        with self._lock:
            return len(self._pending)

    @property
    def judgements(self) -> tuple[Judgement, ...]:
        """Finished judgements, oldest first (the last ``keep``)."""
        with self._lock:
            return tuple(self._judgements)

    # -- scheduling -----------------------------------------------------------------------------
    def _pick_opponent(
        self, decision: Any, models: Mapping[str, Any], answered: str, exclude: Sequence[str]
    ) -> str | None:
        pool = [
            s.model
            for s in decision.ranking  # best first, so pool[0] is the runner-up
            if s.model in models and s.model != answered and s.model not in exclude
            and s.within_budget
        ]
        if not pool:
            return None
        if self.opponent == "runner_up":
            return pool[0]
        return self._rng.choice(pool)

    def maybe_judge(
        self,
        *,
        engine: Any,
        models: Mapping[str, Runnable[Any, Any]],
        decision: Any,
        input: Any,
        answer: Any,
        answered: str,
        exclude: Sequence[str] = (),
    ) -> concurrent.futures.Future[Judgement] | None:
        """Called by the router once an answer is out; schedules a judgement with ``probability``."""
        with self._lock:
            if self._rng.random() >= self.probability:
                return None
            opponent = self._pick_opponent(decision, models, answered, exclude)
            if opponent is None:
                return None
            flip = self.swap and self._rng.random() < 0.5
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.max_workers, thread_name_prefix="eagle-judge"
                )
            future = self._executor.submit(
                self._run, engine, models[opponent], decision, input, answer, answered, opponent, flip
            )
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future[Judgement]) -> None:
        with self._lock:
            self._pending.discard(future)
            if not future.cancelled() and future.exception() is None:
                self._judgements.append(future.result())

    def _call_judge(self, query: str, answer_a: str, answer_b: str) -> Any:
        if isinstance(self.judge, Runnable):
            return self.judge.invoke(
                {"query": query, "answer_a": answer_a, "answer_b": answer_b},
                {"run_name": "eagle_judge", "tags": ["eagle:judge"]},
            )
        result = self.judge(query, answer_a, answer_b)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        return result

    def _run(
        self,
        engine: Any,
        model: Runnable[Any, Any],
        decision: Any,
        input: Any,
        answer: Any,
        answered: str,
        opponent: str,
        flip: bool,
    ) -> Judgement:
        query = decision.query

        def result(outcome: Outcome | None, error: str | None = None) -> Judgement:
            return Judgement(decision.decision_id, query, answered, opponent, outcome, error)

        try:
            other = model.invoke(
                input,
                {
                    "run_name": "eagle_judge_opponent",
                    "tags": ["eagle:judge"],
                    "metadata": {"eagle_model": opponent, "eagle_judged_decision": decision.decision_id},
                },
            )
            mine, theirs = output_text(answer), output_text(other)
            a, b = (theirs, mine) if flip else (mine, theirs)
            outcome = verdict_outcome(parse_verdict(output_text(self._call_judge(query, a, b))),
                                      swapped=flip)
        except Exception as exc:  # the user's answer is out already; log, keep the record
            logger.warning("auto-judge of decision %s failed: %r", decision.decision_id, exc)
            return result(None, error=repr(exc))
        winner, loser = (opponent, answered) if outcome == "loss" else (answered, opponent)
        try:
            engine.record_comparison(query, winner=winner, loser=loser, tie=outcome == "tie")
        except Exception as exc:
            logger.warning("auto-judge could not record decision %s: %r", decision.decision_id, exc)
            return result(None, error=repr(exc))
        return result(outcome)

    # -- waiting --------------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> int:
        """Block until every scheduled judgement is done (or ``timeout``); return how many are left."""
        with self._lock:
            pending = list(self._pending)
        concurrent.futures.wait(pending, timeout=timeout)
        return self.pending

    async def aflush(self, timeout: float | None = None) -> int:
        """Async twin of :meth:`flush`: waits without blocking the event loop."""
        return await asyncio.to_thread(self.flush, timeout)

    def close(self) -> None:
        """Finish pending judgements and stop the worker threads."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


async def _await(awaitable: Any) -> Any:
    return await awaitable
