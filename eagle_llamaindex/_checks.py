"""Argument checks and rebuilding of EagleLLM: typed errors before pydantic sees the values."""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from typing import Any

from llama_index.core.llms import LLM

from eagle_core import ConfigError
from eagle_core._choice import check_one_rule
from eagle_llamaindex._judge import resolve_judge

__all__ = ["check_llm_args", "load_llm"]


def load_llm(name: str, spec: Any) -> LLM:
    """An LLM from ``{"class_path": "module:Class", "state": llm.to_dict()}`` (trusted data only)."""
    if isinstance(spec, LLM):
        return spec
    path = spec.get("class_path") if isinstance(spec, Mapping) else None
    if not isinstance(path, str) or ":" not in path:
        raise ConfigError(
            f"llms[{name!r}] must be a dict with 'class_path' ('module:Class') and 'state', as written "
            f"by EagleLLM.to_dict, got {spec!r:.200}; or pass llms= to from_dict"
        )
    module, _, qualname = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    if not (isinstance(found, type) and issubclass(found, LLM)):
        raise ConfigError(f"llms[{name!r}] class_path {path!r} is not a LlamaIndex LLM class")
    return found.from_dict(dict(spec.get("state") or {}))


def check_llm_args(data: Mapping[str, Any]) -> None:
    """Typed errors for bad arguments, before pydantic sees them."""
    llms = data.get("llms")
    if not isinstance(llms, Mapping) or not llms:
        raise ConfigError(
            f"llms must be a non-empty dict of engine model name -> LlamaIndex LLM, got {llms!r}"
        )
    bad = {name: type(llm).__name__ for name, llm in llms.items()
           if not isinstance(name, str) or not isinstance(llm, LLM)}
    if bad:
        raise ConfigError(
            f"llms values must be LlamaIndex LLM instances keyed by model name, got {bad}"
        )
    if data.get("eagle") is None:
        raise ConfigError("eagle must be an eagle_core.Eagle engine, got None")
    check_one_rule(data.get("cost_weight"), data.get("willingness_to_pay"))
    p = data.get("judge_probability", 0.0)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or math.isnan(p) or not 0 <= p <= 1:
        raise ConfigError(f"judge_probability must be a number in [0, 1], got {p!r}")
    judge = data.get("judge")
    if p > 0 and judge is None:
        raise ConfigError(
            f"judge_probability={p} needs a judge: pass judge=<callable or LLM>, or set it to 0"
        )
    if judge is not None:
        resolve_judge(judge)
