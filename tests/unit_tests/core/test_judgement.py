"""Reading a judge's verdict and what a judgement keeps: one behaviour for LangChain and LlamaIndex."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from eagle_core import InvalidFeedbackError, Judgement, parse_verdict
from eagle_core._judgement import verdict_outcome


@pytest.mark.parametrize(
    ("raw", "verdict"),
    [("a", "a"), (" B. ", "b"), ("TIE", "tie"), ("draw", "tie"), ("C", "tie"),
     ("Answer B is better", "b"), ("answer_a", "a"), ("A: it is correct", "a"),
     ("Reasoning... final: [[A]]", "a"), ("[[B]] wait, no: [[C]]", "tie"),
     (SimpleNamespace(text="b"), "b"), (SimpleNamespace(content="[[a]]"), "a"),
     (SimpleNamespace(message=SimpleNamespace(content="tie")), "tie")],
)
def test_parse_verdict_reads(raw: Any, verdict: str) -> None:
    assert parse_verdict(raw) == verdict


@pytest.mark.parametrize("raw", ["", "both", "maybe A", None, 1, "abstain", SimpleNamespace(text=3)])
def test_parse_verdict_raises_a_typed_error_on_anything_else(raw: Any) -> None:
    with pytest.raises(InvalidFeedbackError, match=r"judge must answer 'a', 'b' or 'tie'.*got") as err:
        parse_verdict(raw)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(("verdict", "swapped", "outcome"),
                         [("a", False, "win"), ("a", True, "loss"), ("b", False, "loss"),
                          ("b", True, "win"), ("tie", True, "tie")])
def test_outcome_is_seen_from_the_chosen_model(verdict: Any, swapped: bool, outcome: str) -> None:
    assert verdict_outcome(verdict, swapped=swapped) == outcome


def test_judgement_names_the_winner() -> None:
    def judged(outcome: Any) -> Judgement:
        return Judgement("d1", "q", "cheap", "strong", outcome)

    assert (judged("win").winner, judged("loss").winner, judged("tie").winner) == ("cheap", "strong", None)
    assert judged("tie").tie and not judged("win").tie
    failed = Judgement("d1", "q", "cheap", "strong", None, error="boom")
    assert failed.winner is None and not failed.tie and failed.error == "boom"
