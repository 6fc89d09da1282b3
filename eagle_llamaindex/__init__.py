"""eagle_llamaindex: Eagle routing for LlamaIndex.

``EagleSelector`` picks a ``RouterQueryEngine`` / ``RouterRetriever`` tool from learned ratings (no
LLM call); ``EagleLLM`` is an LLM that routes every call (``Settings.llm = EagleLLM(...)``).
Feedback goes back by decision id or by the response itself; decisions are also emitted as
LlamaIndex instrumentation events.
"""

from __future__ import annotations

from eagle_llamaindex._capture import capture_decisions
from eagle_llamaindex._embedding import EagleEmbedding
from eagle_llamaindex._errors import MissingDecisionError, MissingResponseError
from eagle_llamaindex._events import EagleFeedbackEvent, EagleJudgementEvent, EagleRouteEvent
from eagle_llamaindex._feedback import DECISION_ID_KEY, MODEL_KEY, decision_id_of
from eagle_llamaindex._judge import JUDGE_PROMPT, Judgement, parse_verdict
from eagle_llamaindex._llm import EagleLLM
from eagle_llamaindex._replay import ReplayLLM
from eagle_llamaindex._responses import DECISION_IDS_KEY
from eagle_llamaindex._selector import EagleSelection, EagleSelector

__all__ = [
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
