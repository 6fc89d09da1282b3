"""LangChain's standard chat-model test suites, run on EagleChatModel over offline tool-calling fakes.

The routed models are :class:`lc_fakes.ToolFakeChat` (deterministic tool calls, usage, streaming) on a
real engine (real Chroma, bundled MiniLM). Skips come from the suites' own capability flags; each is
listed with its reason in docs/BENCHMARKS.md ("LangChain standard tests").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests
from lc_fakes import ToolFakeChat

from eagle_core import Eagle
from eagle_langchain import EagleChatModel

_ENGINE: dict[str, Eagle] = {}


class _Params:
    @pytest.fixture(autouse=True)
    def _fresh_engine(self, make_eagle: Callable[..., Eagle]) -> None:
        _ENGINE["eagle"] = make_eagle({"strong": 0.01, "cheap": 0.001})

    @property
    def chat_model_class(self) -> type[EagleChatModel]:
        return EagleChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "models": {"strong": ToolFakeChat(name="strong", text="strong says hello"),
                       "cheap": ToolFakeChat(name="cheap", text="cheap says hi")},
            "eagle": _ENGINE["eagle"],
        }  # fmt: skip

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        # The router holds no credentials (each routed model has its own), so no api_key parameter;
        # temperature / max_tokens / timeout / stop / max_retries are all parameters of it.
        params = dict(super().standard_chat_model_params)  # type: ignore[misc]
        params.pop("api_key", None)
        return params

    @property
    def model_override_value(self) -> str:
        return "strong"  # invoke(..., model="strong") forces that routed model


class TestEagleChatModelUnit(_Params, ChatModelUnitTests):
    pass


class TestEagleChatModelIntegration(_Params, ChatModelIntegrationTests):
    pass
