"""Building a router is cheap (no embedder load, no store I/O) unless ``warmup=True`` asks for it."""

from __future__ import annotations

import numpy as np
import pytest
from lc_fakes import ToolFakeChat

from eagle_core import Eagle, UnknownModelError
from eagle_langchain import EagleChatModel


class CountingEmbedder:
    """A deterministic embedder that counts its calls (stands for MiniLM's load + first encode)."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        rng = np.random.default_rng(len(texts))
        return rng.normal(size=(len(texts), 8))


def _models() -> dict[str, ToolFakeChat]:
    return {"strong": ToolFakeChat(name="strong"), "cheap": ToolFakeChat(name="cheap")}


def test_building_a_router_embeds_nothing_and_warmup_loads_eagerly() -> None:
    embedder = CountingEmbedder()
    eagle = Eagle(models={"strong": 0.01, "cheap": 0.001}, embedder=embedder)
    EagleChatModel(models=_models(), eagle=eagle)
    assert embedder.calls == 0  # names checked against Eagle(models=...) without opening
    EagleChatModel(models=_models(), eagle=eagle, warmup=True)
    assert embedder.calls >= 1  # embedder loaded, store opened
    eagle.close()


def test_a_name_the_engine_does_not_declare_is_still_checked_at_build_time() -> None:
    eagle = Eagle(models={"strong": 0.01, "cheap": 0.001}, embedder=CountingEmbedder())
    with pytest.raises(UnknownModelError, match="other"):
        EagleChatModel(models={"strong": ToolFakeChat(name="strong"), "other": ToolFakeChat()},
                       eagle=eagle)
    eagle.add_model("other", 0.002)  # added at run time: found in the opened engine
    EagleChatModel(models={"strong": ToolFakeChat(name="strong"), "other": ToolFakeChat()}, eagle=eagle)
    eagle.close()
