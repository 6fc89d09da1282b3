"""LangChain's standard chat-model test suites, run on EagleChatModel over offline tool-calling fakes.

The routed models are :class:`lc_fakes.ToolFakeChat` (deterministic tool calls, usage, streaming) on a
real engine (real Chroma, bundled MiniLM). Skips come from the suites' own capability flags; each is
listed with its reason in docs/BENCHMARKS.md ("LangChain standard tests").

``test_serdes`` loads with ``allowed_objects="all"`` and ``valid_namespaces`` = the model's root
namespace. In langchain-core 1.8 ``"all"`` admits only the classes of langchain-core's own mapping
(its partner packages), so no third-party chat model can pass it as written; a user loads with
``allowed_objects=[EagleChatModel, <routed model classes>]``. The fixture below gives the suite's
loader exactly that allowlist (EagleChatModel and the routed ToolFakeChat, namespace ``lc_fakes``)
and leaves the test's body (snapshot, round trip) unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests
from lc_fakes import ToolFakeChat

from eagle_core import Eagle
from eagle_langchain import EagleChatModel, register_engine

lc_load = importlib.import_module("langchain_core.load.load")  # the module (the package exports
# a function of the same name)

_ENGINE: dict[str, Eagle] = {}


class _Params:
    @pytest.fixture(autouse=True)
    def _fresh_engine(self, make_eagle: Callable[..., Eagle]) -> None:
        _ENGINE["eagle"] = make_eagle({"strong": 0.01, "cheap": 0.001})
        register_engine(_ENGINE["eagle"], "standard-suite")  # a stable reference in the snapshot

    @pytest.fixture(autouse=True)
    def _loader_allows_the_router(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """What a user passes to ``load`` for this router (see the module docstring)."""
        allowed = lc_load._get_default_allowed_class_paths("all") | {
            ("eagle_langchain", "EagleChatModel"), ("lc_fakes", "ToolFakeChat")}
        monkeypatch.setitem(lc_load._default_class_paths_cache, "all", allowed)
        monkeypatch.setattr(lc_load, "DEFAULT_NAMESPACES", [*lc_load.DEFAULT_NAMESPACES, "lc_fakes"])

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
