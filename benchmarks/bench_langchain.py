"""LangChain overhead benchmark (issue 14): what routing adds to a call of the chosen chat model.

One process, real bundled MiniLM, an in-memory Eagle engine seeded with ``--seed-items`` feedback
items (so each route replays its 80 nearest neighbours), two offline tool-calling fake chat models
(``ToolFakeChat`` from the test helpers: a chat call costs well under 1 ms, so what is left is the
overhead). Each iteration
times, interleaved and in a rotating order, one call of every variant on its own fresh short
question (never embedded before, so every routed call pays one MiniLM embedding):

* ``direct_invoke``: ``chat.invoke(q)``, the chosen model called directly (the baseline);
* ``router_invoke``: ``EagleChatModel(models=...).invoke(q)`` (the router as a chat model);
* ``classifier``: ``EagleDecisionModel.invoke`` alone (what ``ModelRouterMiddleware`` adds per run);
* ``agent_direct``: one agent step, ``create_agent(chat, tools=[multiply]).invoke`` answering
  without a tool call (one model call);
* ``agent_middleware``: the same agent with ``ModelRouterMiddleware(classifier=EagleDecisionModel)``;
* ``agent_router``: ``create_agent(EagleChatModel(...), tools=[multiply])``.

Overheads are per-iteration differences against the baseline of the same iteration (``router_invoke
- direct_invoke``, ``agent_* - agent_direct``), reported as median and p99. The cold start (first
call after start-up: imports done, then engine open + MiniLM load + the call) is measured for each
routed variant in its own fresh process.

Usage: ``python benchmarks/bench_langchain.py [--calls 300] [--seed-items 500] [--out bench-out]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "unit_tests" / "langchain"))

from _common import machine, percentiles, write_json  # noqa: E402
from bench_core import FRESH as TEMPLATES  # noqa: E402  (the core benchmark's short questions)
from bench_core import WORDS  # noqa: E402

BASELINES = {"engine_route": None, "router_invoke": "direct_invoke", "classifier": None,
             "agent_middleware": "agent_direct", "agent_router": "agent_direct"}


def question(i: int, salt: str) -> str:
    """A short question (6-10 words) no other call of the run uses."""
    template = TEMPLATES[i % len(TEMPLATES)]
    return f"{template.format(WORDS[(i // len(TEMPLATES)) % len(WORDS)])} ({salt}{i})"


VARIANTS = ("direct_invoke", "engine_route", "router_invoke", "classifier", "agent_direct",
            "agent_router", "agent_middleware")


def imports() -> dict[str, Any]:
    """Everything the variants use (timed separately in the cold runs)."""
    from langchain.agents import create_agent
    from langchain.agents.middleware import ModelChoice, ModelRouterMiddleware
    from langchain_core.decisions import Choice
    from langchain_core.messages import HumanMessage
    from langchain_core.tools import tool
    from lc_fakes import ToolFakeChat

    from eagle_core import Eagle
    from eagle_langchain import EagleChatModel, EagleDecisionModel

    warnings.filterwarnings("ignore", message=".*ModelRouterMiddleware.*beta")  # after the imports
    return {"create_agent": create_agent, "ModelChoice": ModelChoice,
            "ModelRouterMiddleware": ModelRouterMiddleware, "Choice": Choice,
            "HumanMessage": HumanMessage, "tool": tool, "ToolFakeChat": ToolFakeChat, "Eagle": Eagle,
            "EagleChatModel": EagleChatModel, "EagleDecisionModel": EagleDecisionModel}


def build(name: str, eagle: Any, ns: dict[str, Any]) -> Callable[[str], Any]:
    """Variant ``name`` as a callable on one question (only its own objects are built)."""

    @ns["tool"]
    def multiply(a: float, b: float) -> float:
        """Multiply a by b."""
        return a * b

    chats = {m: ns["ToolFakeChat"](name=m, named_tools_only=True) for m in ("big", "small")}
    human, create_agent = ns["HumanMessage"], ns["create_agent"]

    def classifier() -> Any:
        return ns["EagleDecisionModel"](eagle=eagle)

    def agent(model: Any, **kwargs: Any) -> Callable[[str], Any]:
        graph = create_agent(model, tools=[multiply], **kwargs)
        return lambda q: graph.invoke({"messages": [human(q)]})

    if name == "direct_invoke":
        return chats["big"].invoke
    if name == "engine_route":
        return eagle.route
    if name == "router_invoke":
        return ns["EagleChatModel"](models=chats, eagle=eagle).invoke
    if name == "classifier":
        decide, choice = classifier(), ns["Choice"](instructions="pick",
                                                    criteria={"big": None, "small": None})
        return lambda q: decide.invoke({"state": human(q), "questions": {"route": choice}})
    if name == "agent_direct":
        return agent(chats["big"])
    if name == "agent_router":
        return agent(ns["EagleChatModel"](models=chats, eagle=eagle))
    middleware = ns["ModelRouterMiddleware"](
        choices={m: ns["ModelChoice"](model=chat, criteria=m) for m, chat in chats.items()},
        instructions="Pick the model most likely to answer well.", classifier=classifier())
    return agent(chats["big"], middleware=[middleware])


def engine(ns: dict[str, Any], seed_items: int, embedder: Any = None) -> Any:
    """In-memory engine over two models, with ``seed_items`` 0/1 score items of feedback."""
    eagle = ns["Eagle"](models={"big": 0.01, "small": 0.0005}, embedder=embedder)
    if seed_items:
        rng = np.random.default_rng(0)
        eagle.record_many(
            [{"query": question(i, "seed "), "scores": {"big": float(rng.random() < 0.7),
                                                        "small": float(rng.random() < 0.5)}}
             for i in range(seed_items)], progress=False)
    return eagle


def timed(call: Callable[[str], Any], text: str) -> float:
    t0 = time.perf_counter()
    call(text)
    return (time.perf_counter() - t0) * 1e3


def warm(calls: int, seed_items: int, progress: bool) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from eagle_core import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    ns = imports()
    t0 = time.perf_counter()
    eagle = engine(ns, seed_items, embedder)
    seed_s = time.perf_counter() - t0
    variants = {name: build(name, eagle, ns) for name in VARIANTS}
    names = list(variants)
    for k, name in enumerate(names * 3):  # warm-up: first calls compile graphs, fill caches
        variants[name](question(k, f"warm {name} "))
    times: dict[str, list[float]] = {name: [] for name in names}
    embed_only: list[float] = []
    for i in tqdm(range(calls), desc="calls", unit="iteration", disable=not progress):
        order = names[i % len(names):] + names[:i % len(names)]  # rotate: no fixed position
        for name in order:
            times[name].append(timed(variants[name], question(i, f"{name} ")))
        t0 = time.perf_counter()
        embedder.embed([question(i, "embed only ")])
        embed_only.append((time.perf_counter() - t0) * 1e3)
    result: dict[str, Any] = {"calls": calls, "seed_items": seed_items, "seed_s": seed_s,
                              "n_neighbors": eagle.settings.n_neighbors,
                              "latency": {name: percentiles(t) for name, t in times.items()},
                              "minilm_embedding_only": percentiles(embed_only), "overhead": {}}
    result["overhead_beyond_minilm"] = {}
    for name, base in BASELINES.items():
        diff = np.subtract(times[name], times[base]) if base else np.asarray(times[name])
        result["overhead"][name] = {"baseline": base, **percentiles(diff)}
        # what routing adds besides the one MiniLM embedding, timed in the same iteration
        result["overhead_beyond_minilm"][name] = percentiles(diff - np.asarray(embed_only))
    return result


def cold(variant: str) -> dict[str, float]:
    """In a fresh process: imports, building the variant (``EagleChatModel`` checks its models
    against the engine at construction, which opens it and loads MiniLM), first and second call."""
    t0 = time.perf_counter()
    ns = imports()
    t1 = time.perf_counter()
    call = build(variant, engine(ns, 0), ns)
    t2 = time.perf_counter()
    first = timed(call, question(0, "cold "))
    second = timed(call, question(1, "cold "))
    return {"imports_s": t1 - t0, "build_ms": (t2 - t1) * 1e3, "first_call_ms": first,
            "second_call_ms": second, "build_and_first_call_ms": (t2 - t1) * 1e3 + first}


def cold_in_subprocess(variant: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--cold", variant], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat = result["latency"]
    names = list(lat)
    p50 = [lat[n]["p50_ms"] for n in names]
    p99 = [lat[n]["p99_ms"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.barh(names, p99, color="#c9d6ea", label="p99")
    ax.barh(names, p50, color="#3b6ea8", label="p50")
    ax.axvline(result["minilm_embedding_only"]["p50_ms"], color="#d9822b", ls="--",
               label="MiniLM alone, p50")
    ax.invert_yaxis()
    ax.set_xlabel("ms per call (fresh short question, 2 shared cores)")
    ax.set_title("Routed calls vs the chat model called directly")
    ax.legend(loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="timed iterations (each variant once)")
    parser.add_argument("--seed-items", type=int, default=500, help="feedback items in the store")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own, what a user's process "
                             "gets; 1 is faster on 2 cores that other jobs keep busy)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start processes")
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--plot", default=None, help="PNG path (default: <out>/langchain.png)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--cold", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import torch

    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)
    if args.cold:
        print(json.dumps(cold(args.cold)))
        return {}
    result: dict[str, Any] = {"machine": machine(), "torch_threads": torch.get_num_threads()}
    if not args.no_cold:
        result["cold"] = {v: cold_in_subprocess(v) for v in VARIANTS if v != "agent_direct"}
    result["warm"] = warm(args.calls, args.seed_items, not args.quiet)
    out = Path(args.out)
    write_json(out / "langchain.json", result)
    plot(result["warm"], Path(args.plot) if args.plot else out / "langchain.png")
    report(result)
    return result


def report(result: dict[str, Any]) -> None:
    warm_ = result["warm"]
    for name, p in warm_["latency"].items():
        print(f"{name:17} p50 {p['p50_ms']:7.2f} ms  p99 {p['p99_ms']:7.2f} ms")
    for name, p in warm_["overhead"].items():
        print(f"overhead {name:17} (vs {p['baseline']}) p50 {p['p50_ms']:6.2f} ms  "
              f"p99 {p['p99_ms']:6.2f} ms")
    print(f"MiniLM alone p50 {warm_['minilm_embedding_only']['p50_ms']:.2f} ms")
    for name, p in warm_["overhead_beyond_minilm"].items():
        print(f"overhead beyond MiniLM {name:17} p50 {p['p50_ms']:6.2f} ms")
    for name, c in result.get("cold", {}).items():
        print(f"cold {name:17} build {c['build_ms']:8.1f} ms + first call {c['first_call_ms']:7.1f} ms "
              f"(second {c['second_call_ms']:.1f} ms; imports {c['imports_s']:.1f} s)")

if __name__ == "__main__":
    main()
