"""Fixtures for eagle_langchain: real engines (real Chroma + MiniLM, from tests/conftest.py) and
fake chat models from langchain_core."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from lc_fakes import Recorder, fake_chat

from eagle_core import Eagle
from eagle_langchain import EagleRouter


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def two_models() -> dict[str, GenericFakeChatModel]:
    return {"strong": fake_chat("strong says hello there"), "cheap": fake_chat("cheap says hi")}


@pytest.fixture
def eagle(make_eagle: Callable[..., Eagle]) -> Eagle:
    """Two priced models; with no feedback yet, the cheaper one wins the tie."""
    return make_eagle({"strong": 0.01, "cheap": 0.001})


@pytest.fixture
def router(eagle: Eagle, two_models: dict[str, Any]) -> EagleRouter:
    return EagleRouter(models=two_models, eagle=eagle)
