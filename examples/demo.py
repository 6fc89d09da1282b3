"""`make demo`: a LangChain chain that routes RouterBench prompts among 11 real (replayed) LLMs.

1. Training feedback: the training prompts' grades (11 models each) are streamed into Eagle as
   per-prompt scores (``record_many``, with a progress bar).
2. Serving: ``prompt | EagleRouter(11 ReplayChatModels) | StrOutputParser()`` answers the test prompts
   one by one. Each answer is the model's real recorded response; its real grade comes back as
   feedback through ``EagleFeedbackHandler`` (and, with ``--judge-p``, the automatic pairwise mode
   compares it with a second model using the dataset's grades as the judge).
3. A running leaderboard, then the routed choices' accuracy and cost beside every single model, and a
   plot.

Defaults use a seeded subset so the run takes about 3 minutes on 2 CPU cores including embedding
(embeddings are cached on disk, so later runs are faster); ``--full`` uses every prompt.

    python examples/demo.py [--full] [--train N] [--test N] [--wtp USD] [--plot out/demo.png]

Routing is for quality alone by default; ``--wtp 0.02`` (willingness to pay, USD per unit of quality)
makes the router trade accuracy for cost.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from tqdm.auto import tqdm

from eagle_core import Eagle, EagleConfig
from eagle_core.datasets import DatasetError, RoutingDataset, data_dir, load_dataset
from eagle_core.evaluation import CachedEmbedder
from eagle_langchain import AutoJudge, EagleFeedbackHandler, EagleRouter, ReplayChatModel

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="use every train and test prompt")
    parser.add_argument("--train", type=int, default=800, help="training prompts (default 800)")
    parser.add_argument("--test", type=int, default=400, help="test prompts routed (default 400)")
    parser.add_argument("--seed", type=int, default=42, help="split and subset seed")
    parser.add_argument("--wtp", type=float, default=None,
                        help="willingness to pay, USD per unit of quality (default: quality only)")
    parser.add_argument("--judge-p", type=float, default=0.1,
                        help="probability of an automatic pairwise judgement per answer")
    parser.add_argument("--every", type=int, default=100, help="leaderboard every N test prompts")
    parser.add_argument("--plot", type=Path, default=REPO / "out" / "demo.png", help="plot file")
    return parser.parse_args(argv)


def load(args: argparse.Namespace) -> tuple[RoutingDataset, np.ndarray, np.ndarray]:
    root = data_dir()
    if root is None or not (Path(root) / "routerbench").is_dir():
        sys.exit(
            "make demo needs the RouterBench data: set EAGLE_DATA_DIR to the folder holding "
            "routerbench/ (see docs/DATA.md), or place it at ../shared/data next to the repository."
        )
    try:
        ds = load_dataset("routerbench", root)
    except DatasetError as exc:
        sys.exit(f"cannot read the RouterBench data: {exc}")
    train, test = ds.split(seed=args.seed, train_frac=0.7)
    if not args.full:
        rng = np.random.RandomState(args.seed)
        train = np.sort(rng.choice(train, min(args.train, len(train)), replace=False))
        test = rng.permutation(test)[: min(args.test, len(test))]  # arrival order: shuffled
    else:
        test = np.random.RandomState(args.seed).permutation(test)
    return ds, train, test


def grade_judge(ds: RoutingDataset, rows: np.ndarray) -> Any:
    """A judge that knows the dataset's grades: the answer with the higher grade wins."""
    grade: dict[tuple[str, str], float] = {}
    index = {pid: i for i, pid in enumerate(ds.prompt_ids)}
    column = {m: j for j, m in enumerate(ds.models)}
    for (pid, model), response in ds.select(rows).responses().items():
        grade[(ds.prompts[index[pid]], response)] = float(ds.scores[index[pid], column[model]])

    def judge(query: str, answer_a: str, answer_b: str) -> str:
        a, b = grade.get((query, answer_a), 0.0), grade.get((query, answer_b), 0.0)
        return "tie" if a == b else ("a" if a > b else "b")

    return judge


def leaderboard_text(eagle: Eagle, top: int = 5) -> str:
    lines = str(eagle.leaderboard()).splitlines()
    return "\n".join(lines[: 2 + top])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    ds, train, test = load(args)
    models, scores = list(ds.models), ds.scores
    print(f"RouterBench: {len(ds)} prompts x {len(models)} models; "
          f"demo uses {len(train)} training and {len(test)} test prompts"
          f"{' (--full)' if args.full else ' (--full for all)'}.")

    # Embeddings: MiniLM keeping the *end* of long few-shot prompts, cached on disk across runs.
    embedder = CachedEmbedder(truncation="left", progress=True)
    texts = [ds.prompts[i] for i in np.concatenate([train, test])]
    print("Embedding the prompts (cached on disk for later runs) ...")
    embedder(texts)
    print(f"  embeddings ready after {time.perf_counter() - started:.0f} s")

    costs = ds.mean_costs(train)  # what each model costs per call, known from the training period
    eagle = Eagle(
        models={m: float(c) for m, c in zip(models, costs, strict=True)},
        path=None,
        embedder=embedder,
        config=EagleConfig(embedding_cache_size=max(4096, len(texts))),
    )

    # 1. Training feedback: every training prompt's 11 grades, as one score set each.
    print(f"Streaming {len(train)} training prompts' grades into Eagle ...")
    eagle.record_many(
        (
            {"query": ds.prompts[i], "scores": dict(zip(models, map(float, scores[i]), strict=True))}
            for i in train
        ),
        progress=True,
    )
    print(leaderboard_text(eagle, top=len(models)))
    print(f"  training feedback stored after {time.perf_counter() - started:.0f} s")

    # 2. Serving: a LangChain chain routes each test prompt; feedback arrives through the handler.
    judge = None
    if args.judge_p > 0:
        judge = AutoJudge(grade_judge(ds, test), probability=args.judge_p, seed=args.seed)
    router = EagleRouter(
        models=ReplayChatModel.from_dataset(ds.select(test)),
        eagle=eagle,
        willingness_to_pay=args.wtp,
        auto_judge=judge,
    )
    handler = EagleFeedbackHandler(router)
    chain = ChatPromptTemplate.from_messages([("human", "{prompt}")]) | router | StrOutputParser()

    column = {m: j for j, m in enumerate(models)}
    best_on_train = int(np.argmax(scores[train].mean(axis=0)))
    chosen: list[int] = []
    quality = np.zeros((len(test), len(models)))  # Eagle's normalised q per test prompt and model
    cost_of = ds.costs
    bar = tqdm(test, desc="routing test prompts", unit="prompt")
    for n, row in enumerate(bar, 1):
        run_id = uuid.uuid4()
        chain.invoke({"prompt": ds.prompts[row]}, config={"callbacks": [handler], "run_id": run_id})
        run = handler.get_run(run_id)
        model = run.model
        chosen.append(column[model])
        for score in eagle.decision(run.decision_id).ranking:
            quality[n - 1, column[score.model]] = score.normalized
        handler.record_feedback(run_id, score=float(scores[row, column[model]]))
        if judge is not None:
            judge.flush()  # only for reproducible numbers: judgements normally run behind
        if n % args.every == 0 or n == len(test):
            rows = test[:n]
            routed = scores[rows, chosen].mean()
            single = scores[rows, best_on_train].mean()
            bar.write(
                f"\nafter {n} test prompts: routed accuracy {routed:.3f} at "
                f"${cost_of[rows, chosen].mean() * 1000:.3f}/1k calls; best single model "
                f"({models[best_on_train]}) {single:.3f} at "
                f"${cost_of[rows, best_on_train].mean() * 1000:.3f}/1k\n{leaderboard_text(eagle)}"
            )
    bar.close()

    summary = report(ds, test, np.asarray(chosen), best_on_train, judge)
    sweep = wtp_sweep(ds, train, test, quality, costs)
    plot(ds, test, np.asarray(chosen), best_on_train, args.plot, sweep)
    print(summary)
    print(sweep_text(sweep))
    print(f"Plot saved to {args.plot}. Total time {time.perf_counter() - started:.0f} s.")
    return 0


WTP_GRID = (1e-4, 1e-3, 3e-3, 5e-3, 1e-2, 3e-2, 0.1, 1.0)
"""Willingness-to-pay values (USD a perfect answer is worth) for the cost/quality sweep."""


def wtp_sweep(ds: RoutingDataset, train: np.ndarray, test: np.ndarray, quality: np.ndarray,
              costs: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """What the router would have chosen at each willingness to pay λ (argmax q*λ - cost on the
    same decisions' scores), beside the best single model chosen on the training prompts for that λ.
    Rows: (λ, router accuracy, router USD/call, single accuracy, single USD/call)."""
    scores, real_cost = ds.scores, ds.costs
    train_quality = scores[train].mean(axis=0)
    rows = []
    for lam in WTP_GRID:
        pick = np.argmax(quality * lam - costs[None, :], axis=1)
        single = int(np.argmax(train_quality * lam - costs))
        rows.append((lam, scores[test, pick].mean(), real_cost[test, pick].mean(),
                     scores[test, single].mean(), real_cost[test, single].mean()))
    return rows


def sweep_text(sweep: list[tuple[float, float, float, float, float]]) -> str:
    out = ["", "Cost-aware routing: route(query, willingness_to_pay=λ) on the same test prompts",
           f"{'λ (USD)':>9} {'router acc':>10} {'USD/1k':>8} {'single acc':>10} {'USD/1k':>8}"]
    for lam, acc, cost, s_acc, s_cost in sweep:
        out.append(f"{lam:9.0e} {acc:10.3f} {cost * 1000:8.3f} {s_acc:10.3f} {s_cost * 1000:8.3f}")
    return "\n".join(out)


def report(ds: RoutingDataset, test: np.ndarray, chosen: np.ndarray, best_on_train: int,
           judge: AutoJudge | None) -> str:
    scores, costs, models = ds.scores, ds.costs, ds.models
    rows = []
    for j, m in enumerate(models):
        rows.append((m, scores[test, j].mean(), costs[test, j].mean() * 1000, j == best_on_train))
    rows.sort(key=lambda r: -r[1])
    routed_acc = scores[test, chosen].mean()
    routed_cost = costs[test, chosen].mean() * 1000
    oracle = scores[test].max(axis=1).mean()
    width = max(len(m) for m in models) + 2
    out = [
        "",
        f"Results on {len(test)} test prompts (accuracy = mean RouterBench grade; cost = real USD).",
        f"{'':2}{'answering with':<{width}} {'accuracy':>8} {'USD/1k calls':>13}",
        f"{'=>':2}{'Eagle router (LangChain)':<{width}} {routed_acc:8.3f} {routed_cost:13.3f}",
    ]
    for m, acc, cost, best in rows:
        mark = "* " if best else "  "
        out.append(f"{mark}{m:<{width}} {acc:8.3f} {cost:13.3f}")
    out.append(f"{'':2}{'oracle (best model per prompt)':<{width}} {oracle:8.3f}")
    out.append("* = best single model on the training prompts (what you would deploy without routing)")
    share = np.bincount(chosen, minlength=len(models)) / len(chosen)
    out.append("routed to: " + ", ".join(
        f"{models[j]} {share[j]:.0%}" for j in np.argsort(-share) if share[j] > 0))
    if judge is not None:
        done = judge.judgements
        out.append(f"automatic pairwise judgements recorded: {sum(j.error is None for j in done)}")
    return "\n".join(out)


def plot(ds: RoutingDataset, test: np.ndarray, chosen: np.ndarray, best_on_train: int,
         path: Path, sweep: list[tuple[float, float, float, float, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores, costs, models = ds.scores, ds.costs, ds.models
    n = np.arange(1, len(test) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    left.plot(n, np.cumsum(scores[test, chosen]) / n, label="Eagle router (LangChain chain)", lw=2)
    left.plot(n, np.cumsum(scores[test, best_on_train]) / n,
              label=f"best single model: {models[best_on_train]}", ls="--")
    left.plot(n, np.cumsum(scores[test].max(axis=1)) / n, label="oracle", ls=":", color="grey")
    left.set(xlabel="test prompts routed", ylabel="running accuracy",
             title="Routing while learning from feedback")
    left.legend(loc="lower right")
    for j, m in enumerate(models):
        right.scatter(costs[test, j].mean() * 1000, scores[test, j].mean(), color="tab:blue")
        right.annotate(m.split("/")[-1], (costs[test, j].mean() * 1000, scores[test, j].mean()),
                       fontsize=7, xytext=(3, 3), textcoords="offset points")
    right.plot([r[2] * 1000 for r in sweep], [r[1] for r in sweep], "o-", color="tab:orange",
               label="Eagle router, willingness to pay λ swept", zorder=2)
    right.scatter(costs[test, chosen].mean() * 1000, scores[test, chosen].mean(), marker="*",
                  s=250, color="tab:red", label="Eagle router (quality only)", zorder=3)
    right.set(xscale="log", xlabel="USD per 1k calls (log)", ylabel="accuracy",
              title=f"Quality vs cost on {len(test)} RouterBench test prompts")
    right.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
