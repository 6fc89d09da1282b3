"""Pins eagle_llamaindex's public API: additions and removals must be deliberate."""

from __future__ import annotations

import eagle_llamaindex

EXPECTED = [
    "DECISION_IDS_KEY",
    "DECISION_ID_KEY",
    "JUDGE_PROMPT",
    "MODEL_KEY",
    "EagleEmbedding",
    "EagleFeedbackEvent",
    "EagleJudgementEvent",
    "EagleLLM",
    "EagleRouteEvent",
    "EagleSelection",
    "EagleSelector",
    "Judgement",
    "MissingDecisionError",
    "MissingResponseError",
    "ReplayLLM",
    "capture_decisions",
    "decision_id_of",
    "parse_verdict",
]


def test_all_is_pinned() -> None:
    assert sorted(eagle_llamaindex.__all__) == sorted(EXPECTED)
    for name in EXPECTED:
        assert getattr(eagle_llamaindex, name) is not None
        assert not name.startswith("_")


def test_errors_belong_to_the_one_exception_tree() -> None:
    from eagle_core import EagleError

    assert issubclass(eagle_llamaindex.MissingDecisionError, (EagleError, ValueError))
    assert issubclass(eagle_llamaindex.MissingResponseError, (EagleError, KeyError))
