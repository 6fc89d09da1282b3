"""Fixtures of the LlamaIndex tests: offline Settings, a network guard, engines, an event recorder."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _li_support import MODELS, EventRecorder
from llama_index.core import Settings
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms import MockLLM

from eagle_core import Eagle
from eagle_llamaindex import ReplayLLM


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):  # unix socket path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Fail any test that tries to reach a non-loopback address (LlamaIndex defaults to OpenAI)."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            attempts.append(address)
            raise OSError(f"network access attempted in a test: {address!r}")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_local((host if isinstance(host, str) else host.decode(),)):
            attempts.append(host)
            raise OSError(f"DNS lookup attempted in a test: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"network access attempted: {attempts}"


@pytest.fixture(autouse=True)
def offline_settings() -> Iterator[None]:
    """Explicit local LLM and embedding, so nothing falls back to OpenAI; restored afterwards."""
    saved = (Settings._llm, Settings._embed_model)
    Settings.llm = MockLLM()
    Settings.embed_model = MockEmbedding(embed_dim=8)
    yield
    Settings._llm, Settings._embed_model = saved


@pytest.fixture
def eagle(make_eagle: Callable[..., Eagle]) -> Eagle:
    return make_eagle(dict(MODELS))


@pytest.fixture
def replays() -> dict[str, ReplayLLM]:
    return {name: ReplayLLM(model=name, responses={}, default=f"answer from {name}")
            for name in MODELS}


@pytest.fixture
def recorder() -> Iterator[EventRecorder]:
    handler = EventRecorder(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    yield handler
    root.event_handlers = [h for h in root.event_handlers if h is not handler]
