"""Automatic pairwise feedback, framework-free: read a judge's verdict, keep what it decided.

The LangChain and LlamaIndex judges (``eagle_langchain.AutoJudge``, ``EagleLLM(judge=...)``) both
run a second model, ask a judge "which of answers A and B is better?" and record the comparison.
How a verdict is read and what is kept of it is the same for both, so it lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from eagle_core._errors import InvalidFeedbackError

__all__ = ["Judgement", "Outcome", "Verdict", "parse_verdict", "verdict_outcome"]

Verdict = Literal["a", "b", "tie"]
"""Which of the two answers shown the judge prefers."""
Outcome = Literal["win", "loss", "tie"]
"""The verdict seen from the chosen model (whose answer the user got)."""

_VERDICTS: dict[str, Verdict] = {
    "a": "a", "[[a]]": "a", "answer_a": "a", "answer a": "a",
    "b": "b", "[[b]]": "b", "answer_b": "b", "answer b": "b",
    "tie": "tie", "[[c]]": "tie", "c": "tie", "draw": "tie",
}  # fmt: skip
_BRACKETED = re.compile(r"\[\[\s*([abc])\s*\]\]", re.IGNORECASE)
_PUNCTUATION = " \t\n.:!*\"'"


def _text(value: Any) -> str | None:
    """The text of a judge's output: a string, or an object's ``text`` / ``content`` string."""
    if isinstance(value, str):
        return value
    for attribute in ("text", "content"):  # CompletionResponse.text, a chat message's content
        found = getattr(value, attribute, None)
        if isinstance(found, str):
            return found
    message = getattr(value, "message", None)  # ChatResponse.message.content
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else None


def parse_verdict(value: Any) -> Verdict:
    """Read a judge's answer as ``"a"``, ``"b"`` or ``"tie"``; raise when it is unreadable.

    Accepted, in any case: ``a`` / ``b`` / ``tie`` (also ``c``, ``draw``, ``answer a``), a reply whose
    first word is one of those (``"B is better"``, ``"Answer A."``), or MT-Bench style
    ``[[A]]`` / ``[[B]]`` / ``[[C]]`` anywhere in a longer text (the last one wins). ``value`` is a
    string or carries one (``.text``, ``.content``, ``.message.content``).

    Raises:
        InvalidFeedbackError: anything else. The judges catch it and keep it as the
            :attr:`Judgement.error`, so an unreadable verdict records nothing and never reaches the
            user's call.
    """
    text = _text(value)
    if text is not None:
        plain = text.strip(_PUNCTUATION).lower()
        if plain in _VERDICTS:
            return _VERDICTS[plain]
        found = _BRACKETED.findall(text)
        if found:
            return _VERDICTS[f"[[{found[-1].lower()}]]"]
        words = [w.strip(_PUNCTUATION) for w in plain.split()]
        if len(words) > 1 and words[0] == "answer":
            words = words[1:]
        if words and words[0] in ("a", "b", "tie"):
            return _VERDICTS[words[0]]
    raise InvalidFeedbackError(
        "judge must answer 'a', 'b' or 'tie' (or [[A]] / [[B]] / [[C]]) saying which answer is "
        f"better, got {value!r:.200}; make the judge's prompt ask for exactly one of those"
    )


def verdict_outcome(verdict: Verdict, *, swapped: bool) -> Outcome:
    """The chosen model's outcome: its answer was shown as A, or as B when ``swapped``."""
    if verdict == "tie":
        return "tie"
    return "win" if (verdict == "a") != swapped else "loss"


@dataclass(frozen=True)
class Judgement:
    """One finished automatic comparison of the chosen model's answer with an opponent's.

    ``outcome`` is ``None`` when nothing was recorded (the opponent or the judge failed, the verdict
    was unreadable, the store refused): ``error`` says why.
    """

    decision_id: str
    query: str
    model: str
    """The model whose answer the user got."""
    opponent: str
    outcome: Outcome | None
    error: str | None = None

    @property
    def winner(self) -> str | None:
        """The better model; ``None`` for a tie or when nothing was recorded."""
        if self.outcome == "win":
            return self.model
        return self.opponent if self.outcome == "loss" else None

    @property
    def tie(self) -> bool:
        """Whether the judge found both answers as good."""
        return self.outcome == "tie"
