"""Automatic pairwise feedback: sometimes run a second model and let a judge pick the better answer.

This is the optional step of the Eagle paper. It runs on a background thread after the user's answer
is complete, so it never delays the answer; ``wait_for_judgements`` lets tests and scripts drain it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from llama_index.core.llms import LLM

from eagle_core import ConfigError, Judgement, parse_verdict
from eagle_core._judgement import verdict_outcome
from eagle_llamaindex._events import EagleJudgementEvent, emit
from eagle_llamaindex._feedback import record

__all__ = ["JUDGE_PROMPT", "Judgement", "parse_verdict"]  # the last two: from eagle_core

logger = logging.getLogger(__name__)

JUDGE_PROMPT = (
    "You compare two answers to the same request.\n\n"
    "Request:\n{query}\n\n"
    "Answer A:\n{answer_a}\n\n"
    "Answer B:\n{answer_b}\n\n"
    "Which answer is better? Reply with exactly one word: A, B or TIE."
)
"""Prompt used when the judge is a LlamaIndex LLM."""


def resolve_judge(judge: Any) -> Callable[[str, str, str], Any]:
    """A callable ``(query, answer_a, answer_b) -> verdict`` from a callable or a LlamaIndex LLM."""
    if isinstance(judge, LLM):
        return lambda query, a, b: judge.complete(
            JUDGE_PROMPT.format(query=query, answer_a=a, answer_b=b)
        ).text
    if callable(judge):
        return judge
    raise ConfigError(
        "judge must be a callable (query, answer_a, answer_b) -> 'a'|'b'|'tie' or a LlamaIndex LLM, "
        f"got {judge!r}"
    )


class JudgeRunner:
    """Draws when to judge and runs the judgements on one background thread."""

    def __init__(self, judge: Any, seed: int | None) -> None:
        self.judge = judge
        self.seed = seed
        self._judge = resolve_judge(judge) if judge is not None else None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: list[concurrent.futures.Future[Judgement]] = []

    def should_judge(self, probability: float) -> bool:
        if self._judge is None or probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability

    def submit(
        self,
        eagle: Any,
        decision: Any,
        answer: str,
        opponent: str,
        run_opponent: Callable[[], str],
    ) -> concurrent.futures.Future[Judgement]:
        """Queue a comparison of ``answer`` (the chosen model's) against ``opponent``'s answer."""
        with self._lock:
            swap = self._rng.random() < 0.5  # random order: no position bias in the judge
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="eagle-judge"
                )
            context = contextvars.copy_context()
            future = self._executor.submit(
                context.run, self._judge_one, eagle, decision, answer, opponent, run_opponent, swap
            )
            self._pending.append(future)
        return future

    def _judge_one(
        self,
        eagle: Any,
        decision: Any,
        answer: str,
        opponent: str,
        run_opponent: Callable[[], str],
        swap: bool,
    ) -> Judgement:
        assert self._judge is not None
        decision_id, model, query = decision.decision_id, decision.model, decision.query
        try:
            other = run_opponent()
            pair = (other, answer) if swap else (answer, other)
            outcome = verdict_outcome(parse_verdict(self._judge(query, *pair)), swapped=swap)
            key = {"win": "worse", "loss": "better", "tie": "tie"}[outcome]
            record(eagle, decision_id, {key: opponent}, origin="judge")
        except Exception as exc:  # a failed judgement must never reach the user's call
            logger.warning("automatic judgement of decision %s failed: %r", decision_id, exc)
            return Judgement(decision_id, query, model, opponent, None, error=repr(exc))
        emit(EagleJudgementEvent(decision_id=decision_id, model=model, opponent=opponent,
                                 outcome=outcome))
        return Judgement(decision_id, query, model, opponent, outcome)

    def _take_pending(self) -> list[concurrent.futures.Future[Judgement]]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def _keep(self, futures: list[concurrent.futures.Future[Judgement]]) -> list[Judgement]:
        done = [f.result() for f in futures if f.done()]
        with self._lock:
            self._pending.extend(f for f in futures if not f.done())
        return done

    def wait(self, timeout: float | None) -> list[Judgement]:
        pending = self._take_pending()
        concurrent.futures.wait(pending, timeout=timeout)
        return self._keep(pending)

    async def await_(self, timeout: float | None) -> list[Judgement]:
        pending = self._take_pending()
        if pending:
            await asyncio.wait([asyncio.wrap_future(f) for f in pending], timeout=timeout)
        return self._keep(pending)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
