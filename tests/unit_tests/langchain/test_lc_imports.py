from __future__ import annotations

import eagle_langchain

EXPECTED_ALL = [
    "ANSWERED_EVENT",
    "CONFIGURABLE_KEYS",
    "DEFAULT_INPUT_KEYS",
    "AutoJudge",
    "EagleChatModel",
    "EagleChoiceAnswer",
    "EagleDecisionModel",
    "EagleFeedbackHandler",
    "EagleRouter",
    "Judgement",
    "ReplayChatModel",
    "ResponseNotFoundError",
    "RoutedRun",
    "output_text",
    "parse_verdict",
    "query_text",
    "register_engine",
]


def test_all_is_pinned() -> None:
    assert sorted(eagle_langchain.__all__) == sorted(EXPECTED_ALL)
    for name in EXPECTED_ALL:
        assert getattr(eagle_langchain, name) is not None


def test_configurable_keys_are_documented_options() -> None:
    assert eagle_langchain.CONFIGURABLE_KEYS == {
        "eagle_model": "force",
        "eagle_cost_weight": "cost_weight",
        "eagle_willingness_to_pay": "willingness_to_pay",
        "eagle_budget": "budget",
        "eagle_explore": "explore",
    }
