"""`make demo`: Eagle serving RouterBench traffic through a LangChain chain, learning as production does.

RouterBench prompts arrive in a random order; a LangChain chain ``prompt | EagleRouter(11 replayed
LLMs) | StrOutputParser()`` answers each one with a real recorded response. As in production, only
the answer that was served gets rated (its real grade comes back through ``EagleFeedbackHandler``);
the router starts cold except for a few prompts graded for every model (``--warm``), and each served
answer's actual cost is reported back (``Eagle.record_cost``) for the budget pacer. Routing is
cost-aware: by default a budget, an average cost per request of half what the highest-grade model
(GPT-4) costs, which the engine keeps by pacing (``Eagle(target_cost_per_request=...)``); every
answer is then worth its grade and the question is how much quality the budget buys. ``--wtp λ``
instead prices quality at λ USD per unit of grade (utility ``grade·λ − cost``). The budget (half of
GPT-4's cost) and the 50 warm prompts were chosen on validation streams (RouterBench training split,
8 seeds, ``benchmarks/select_demo.py``): there Eagle beat the best single model affordable under the
target by +0.17 ± 0.03 of the headroom to the oracle, while at a quarter of GPT-4's cost it was
level (+0.01) and at every λ tried (¼..8 x the replay's default) below the best single model
(docs/BENCHMARKS.md, "The demo").
Exploration is seeded (``EagleConfig(seed=--seed)``), so a run is reproducible.

The run is replayed by the online replay harness (``eagle_core.replay``, as ``eagle replay`` does),
so the chain is scored against the per-prompt oracle, the best single model in hindsight and the
same Eagle serving only its top-ranked model (no exploration), on the same stream. The plot shows
their running utility; the summary says how many answers were explored and what the same quality
would have cost with a single model.

    python examples/demo.py [--steps N] [--warm N] [--budget F | --wtp USD] [--seed S] [--plot PATH]

Defaults take under a minute on 2 CPU cores once the embeddings are cached (first run: a few minutes).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from tqdm.auto import tqdm

from eagle_core import Eagle, EagleConfig
from eagle_core.datasets import DatasetError, RoutingDataset, data_dir, load_dataset
from eagle_core.evaluation import CachedEmbedder
from eagle_core.replay import (
    EagleOnlineRouter,
    Scenario,
    build_stream,
    prepare,
    references,
    replay,
)
from eagle_langchain import EagleFeedbackHandler, EagleRouter, ReplayChatModel

REPO = Path(__file__).resolve().parents[1]


class ChainRouter:
    """The LangChain chain as a replay router: ``choose`` runs the chain (the real Eagle engine picks
    and a replayed model answers), ``learn`` sends the served answer's grade through the handler.

    Eagle's own exploration (when the engine does it) shows on each decision; ``n_explored`` counts
    the served answers that were not the top of the deterministic ranking."""

    name = "eagle (LangChain chain)"

    def __init__(self, ds: RoutingDataset, embedder: CachedEmbedder) -> None:
        self.ds = ds
        self.embedder = embedder

    def start(self, models: Sequence[str], costs: np.ndarray, *, wtp: float | None,
              target_cost: float | None, seed: int) -> None:
        self.eagle = Eagle(models={m: float(c) for m, c in zip(models, costs, strict=True)}, path=None,
                           embedder=self.embedder,
                           config=EagleConfig(embedding_cache_size=8192, seed=seed),
                           target_cost_per_request=target_cost)
        self.models = list(models)
        self.router = EagleRouter(models=ReplayChatModel.from_dataset(self.ds), eagle=self.eagle,
                                  willingness_to_pay=wtp)
        self.handler = EagleFeedbackHandler(self.router)
        prompt = ChatPromptTemplate.from_messages([("human", "{prompt}")])
        self.chain = prompt | self.router | StrOutputParser()
        self.runs: dict[str, list[uuid.UUID]] = {}
        self.n_explored = 0

    def choose(self, x: np.ndarray, text: str) -> int:
        run_id = uuid.uuid4()
        self.chain.invoke({"prompt": text}, config={"callbacks": [self.handler], "run_id": run_id})
        self.runs.setdefault(text, []).append(run_id)
        run = self.handler.get_run(run_id)
        decision = self.eagle.decision(run.decision_id)
        if getattr(decision, "explored", decision.model != decision.ranking[0].model):
            self.n_explored += 1
        return self.models.index(run.model)

    def learn(self, x: np.ndarray, text: str, model: int, grade: float, cost: float) -> None:
        self.handler.record_feedback(self.runs[text].pop(0), score=grade)

    def paid(self, x: np.ndarray, text: str, model: int, cost: float) -> None:
        """The served answer's actual cost (in production: from the response's token usage)."""
        self.eagle.record_cost(self.handler.get_run(self.runs[text][-1]).decision_id, cost)

    def learn_full(self, x: np.ndarray, text: str, grades: np.ndarray) -> None:
        self.runs[text].pop(0)
        self.eagle.record_scores(text, {m: float(g) for m, g in zip(self.models, grades, strict=True)})

    def learn_duel(self, x, text, model: int, other: int, outcome: float) -> None:
        raise NotImplementedError("the demo's feedback is a grade on the served answer")

    def add_model(self, name: str, cost: float) -> None:
        self.eagle.add_model(name, cost)
        self.models.append(name)


def make_eagle_router(ds: RoutingDataset, embedder: CachedEmbedder):
    """The router the demo showcases (swap this one line to replay another OnlineRouter)."""
    return ChainRouter(ds, embedder)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="prompts served (default 1000)")
    parser.add_argument("--warm", type=int, default=50,
                        help="first prompts graded for every model (default 50; 0 = fully cold)")
    parser.add_argument("--budget", type=float, default=0.5,
                        help="target average cost per request as a fraction of the highest-grade "
                             "model's cost (default 0.5)")
    parser.add_argument("--wtp", type=float, default=None,
                        help="route on utility grade*wtp - cost instead of a budget (USD per unit "
                             "of grade; the replay's default is ~0.023 on RouterBench)")
    parser.add_argument("--seed", type=int, default=0, help="stream order seed")
    parser.add_argument("--plot", type=Path, default=REPO / "out" / "demo.png", help="plot file")
    return parser.parse_args(argv)


def load() -> RoutingDataset:
    root = data_dir()
    if root is None or not (Path(root) / "routerbench").is_dir():
        sys.exit(
            "make demo needs the RouterBench data: set EAGLE_DATA_DIR to the folder holding "
            "routerbench/ (see docs/DATA.md), or place it at ../shared/data next to the repository."
        )
    try:
        return load_dataset("routerbench", root)
    except DatasetError as exc:
        sys.exit(f"cannot read the RouterBench data: {exc}")


class _Progress:
    """Wraps a router so the replay shows a progress bar (one tick per served prompt)."""

    def __init__(self, inner, bar: tqdm) -> None:
        self._inner, self._bar = inner, bar
        self.name = inner.name

    def __getattr__(self, item: str):
        return getattr(self._inner, item)

    def choose(self, x: np.ndarray, text: str) -> int:
        self._bar.update()
        return self._inner.choose(x, text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    ds = load()
    wtp = args.wtp
    scenario = Scenario("demo", warm=args.warm, budget=None if wtp is not None else args.budget)
    embedder = CachedEmbedder(truncation="left", progress=True)
    order = build_stream(ds, np.zeros((len(ds), 1), np.float32), seed=args.seed, length=args.steps).rows
    print("Embedding the served prompts (cached on disk for later runs) ...")
    X = np.zeros((len(ds), 384), dtype=np.float32)
    X[order] = embedder([ds.prompts[i] for i in order])  # only these rows are ever served
    prep = prepare(build_stream(ds, X, seed=args.seed, length=args.steps), scenario, wtp=wtp)
    goal = (f"a budget of {prep.target_cost * 1000:.3f} USD per 1k requests on average "
            f"({args.budget:g} x the cost of the highest-grade model), as much quality as it buys"
            if wtp is None else f"willingness to pay λ = {wtp:.4f} USD per unit of grade")
    print(f"RouterBench: {len(ds)} prompts x {len(ds.models)} models. Serving {args.steps} prompts in a "
          f"random order; the first {args.warm} are graded for every model, after that only the "
          f"served answer is rated. Goal: {goal}.")
    ref = references(prep)
    # the same engine maths serving only its top-ranked model, in memory (the replay's eagle_greedy)
    routers = {"eagle": make_eagle_router(ds, embedder), "greedy": EagleOnlineRouter(explore=False)}
    traces = {}
    for key, router in routers.items():
        with tqdm(total=len(prep.stream), desc=f"serving with {router.name}", unit="prompt") as bar:
            traces[key] = replay(_Progress(router, bar), prep, seed=args.seed)
    text = summary(prep, ref, traces)
    plot(prep, ref, traces, args.plot)
    print(text)
    print(f"Plot saved to {args.plot}. Total time {time.perf_counter() - started:.0f} s.")
    return 0


def _utility(trace, wtp: float | None) -> np.ndarray:
    """What each served answer was worth: its grade under a budget, else grade·λ − cost."""
    return trace.grade if wtp is None else trace.grade * wtp - trace.cost


def summary(prep, ref, traces: dict) -> str:
    s, wtp = prep.stream, prep.wtp
    names = [m.split("/")[-1] for m in s.models]
    eagle = traces["eagle"]
    rows_ = np.arange(len(s))
    value = "grade" if wtp is None else "utility/1k"
    scale = 1.0 if wtp is None else 1000.0
    fixed = ref.fixed_model
    head = f"{'':52} {value:>10} {'grade':>6} {'USD/1k':>8}"
    out = ["", head if wtp is not None else head.replace(f" {value:>10}", "")]
    rows = [("Eagle (LangChain chain, served-answer feedback)", _utility(eagle, wtp), eagle.grade,
             eagle.cost),
            ("greedy Eagle (same engine, never explores)", _utility(traces["greedy"], wtp),
             traces["greedy"].grade, traces["greedy"].cost),
            (("best single model affordable: " if wtp is None else "best single model: ")
             + names[fixed], ref.fixed_utility, s.grades[:, fixed], s.costs[:, fixed]),
            ("oracle (best answer per prompt" + (", on budget)" if wtp is None else ")"),
             ref.oracle_utility, s.grades[rows_, ref.oracle_choice], s.costs[rows_, ref.oracle_choice])]
    for label, u, g, c in rows:
        worth = "" if wtp is None else f" {u.mean() * scale:10.3f}"  # under a budget: the grade
        out.append(f"{label:52}{worth} {g.mean():6.3f} {c.mean() * 1000:8.3f}")
    gap = ref.oracle_utility.mean() - ref.fixed_utility.mean()
    gain = _utility(eagle, wtp).mean() - ref.fixed_utility.mean()
    verdict = "beats" if gain > 0 else "does not beat"
    out.append(f"Eagle {verdict} the best single model{' affordable' if wtp is None else ''} "
               f"({names[fixed]}): {gain * scale:+.3f} {value}, {gain / gap:+.0%} of the "
               "best-single-model -> oracle headroom.")
    if prep.target_cost is not None:
        spent = eagle.cost.mean() / prep.target_cost
        out.append(f"Budget: Eagle spent {spent:.1%} of the target {prep.target_cost * 1000:.3f} USD/1k "
                   f"(overshoot {max(0.0, spent - 1):.2%}), paced on each answer's actual cost.")
    rated = len(s) - prep.scenario.warm
    out.append(f"Explored answers (served although not the top-ranked model): {eagle.n_explored} of "
               f"{len(s)}; {prep.scenario.warm} prompts had every grade, {rated} only the served one.")
    out.append(_same_quality(s, eagle))
    share = np.bincount(eagle.chosen, minlength=len(names)) / len(eagle.chosen)
    out.append("Eagle routed to: " + ", ".join(
        f"{names[j]} {share[j]:.0%}" for j in np.argsort(-share) if share[j] > 0.005))
    return "\n".join(out)


def _same_quality(s, eagle) -> str:
    """The cheapest single model at least as accurate as Eagle's answers, and its price."""
    grade, cost = eagle.grade.mean(), eagle.cost.mean()
    means, prices = s.grades.mean(axis=0), s.costs.mean(axis=0)
    ok = np.flatnonzero(means >= grade)
    if not len(ok):
        top = int(np.argmax(means))
        return (f"No single model reaches Eagle's mean grade {grade:.3f} (the best, "
                f"{s.models[top]}, has {means[top]:.3f} at ${prices[top] * 1000:.3f}/1k; Eagle pays "
                f"${cost * 1000:.3f}/1k).")
    j = ok[np.argmin(prices[ok])]
    return (f"The same quality (mean grade {grade:.3f}) from one model: {s.models[j]} "
            f"({means[j]:.3f}) costs ${prices[j] * 1000:.3f} per 1k requests, {prices[j] / cost:.2f}x "
            f"what Eagle paid (${cost * 1000:.3f}).")


def plot(prep, ref, traces: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, wtp = prep.stream, prep.wtp
    n = np.arange(1, len(s) + 1)
    scale = 1.0 if wtp is None else 1000.0
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    run = lambda u: np.cumsum(u) / n * scale  # noqa: E731
    left.plot(n, run(_utility(traces["eagle"], wtp)), lw=2.2, color="tab:red",
              label="Eagle (LangChain chain)")
    left.plot(n, run(_utility(traces["greedy"], wtp)), lw=1.3, color="tab:purple",
              label="greedy Eagle (no exploration)")
    left.plot(n, run(ref.fixed_utility), ls="--", color="black",
              label=f"best single model{' affordable' if wtp is None else ''}: "
                    f"{s.models[ref.fixed_model].split('/')[-1]}")
    left.plot(n, run(ref.oracle_utility), ls=":", color="grey", label="oracle")
    if prep.scenario.warm:
        left.axvline(prep.scenario.warm, color="grey", lw=0.8)
    goal = (f"budget {prep.target_cost * 1000:.2f} USD/1k" if wtp is None else f"λ = {wtp:.4f}")
    left.set(xlabel="prompts served",
             ylabel="running mean grade" if wtp is None else "running mean utility ×1000 (grade·λ − USD)",
             title=f"Learning from the served answer's grade only ({goal})")
    left.legend(loc="lower right", fontsize=8)
    for j, m in enumerate(s.models):
        right.scatter(s.costs[:, j].mean() * 1000, s.grades[:, j].mean(), color="tab:blue")
        right.annotate(m.split("/")[-1], (s.costs[:, j].mean() * 1000, s.grades[:, j].mean()),
                       fontsize=7, xytext=(3, 3), textcoords="offset points")
    for key, color, label in (("eagle", "tab:red", "Eagle"), ("greedy", "tab:purple", "greedy Eagle")):
        tr = traces[key]
        right.scatter(tr.cost.mean() * 1000, tr.grade.mean(), marker="*", s=250, color=color,
                      label=label, zorder=3)
    if prep.target_cost is not None:
        right.axvline(prep.target_cost * 1000, color="grey", ls="--", lw=0.8, label="budget")
    right.set(xscale="log", xlabel="USD per 1k requests (log)", ylabel="mean grade",
              title=f"Quality vs cost over the {len(s)} served prompts")
    right.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
