"""Feedback from strangers (issue 15): how far one source's flood of rigged votes moves routing.

On RouterBench (the evaluation protocol's seed-42 70/30 split per sub-dataset, all three
sub-datasets in one engine) the honest training feedback is stored as score sets (2,213 prompts x
11 models, ``record_many``), then ONE source injects 100, 300 and 1,000 rigged votes that promote
the worst model over the best one (worst / best by mean training score) on *varied* texts near one
topic: each attack text is a training prompt of one sub-dataset (``--topic``, default mbpp) with a
different request appended, so every vote has its own query text and exact-duplicate filtering
alone does not stop it. Two attacks (``--attacks``): ``comparisons`` (each vote is "worst beats
best" on its text) and ``thumbs`` (each vote is a thumbs-up on the worst model's answer *and* a
thumbs-down on the best model's answer to its text: two rated answers, moved by the Glicko step).
After each step every test prompt (951) is routed once.

Reported, with the defence off (``source_defence=False``) and on (the default):

* ``flipped``: share of ALL test prompts whose top-1 model (deterministic combined rating, no cost
  rule) differs from the one before the attack;
* ``auc`` and ``auc_lost``: the evaluation's AUC (RouterBench's λ rule on each sub-dataset's
  training mean costs, Eagle's unit-spaced trapezoid, summed over the sub-datasets as
  ``eagle bench`` does) and its drop against no attack;
* the defence's cost on honest feedback: the same AUC without an attack when the honest feedback
  itself comes from strangers (``--users`` sources, Zipf-distributed: a few heavy users, many
  light ones), defence on vs off; and with the honest feedback trusted (``source=None``).

Embeddings come from the evaluation's on-disk cache (``CachedEmbedder``; attack texts are embedded
once and cached). Usage::

    python benchmarks/bench_poison.py [--data DIR] [--votes 100 300 1000] [--attacks comparisons thumbs]
                                      [--out bench-out] [--quick]
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_or_exit, machine, write_json  # noqa: E402

ATTACKER = "attacker-1"
ATTACKS = ("comparisons", "thumbs")
REQUESTS = (
    "Please answer carefully.", "Explain your reasoning briefly.", "Give only the final answer.",
    "Be concise.", "Think step by step.", "Double-check the result.", "Use simple words.",
    "Answer as an expert would.", "Keep it short.", "Show your work.", "No preamble, please.",
    "I need this for homework.", "Make sure it is correct.", "Reply in English.", "Quick answer please.",
)


def attack_texts(prompts: list[str], n: int, seed: int = 0) -> list[str]:
    """``n`` distinct texts near ``prompts``' topic: a prompt plus a varied request (and a number,
    so no two texts are equal even when the request repeats)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        base = prompts[int(rng.integers(len(prompts)))]
        out.append(f"{base}\n\n{REQUESTS[i % len(REQUESTS)]} (#{i + 1})")
    return out


def zipf_users(n: int, users: int, seed: int = 0) -> list[str]:
    """A user id per item: P(user u) ~ 1/(u+1), so a few users give much of the feedback."""
    p = 1.0 / np.arange(1, users + 1)
    draws = np.random.default_rng(seed).choice(users, size=n, p=p / p.sum())
    return [f"user-{u}" for u in draws]


def supports_sources() -> bool:
    from eagle_core import Eagle

    return "source" in inspect.signature(Eagle.record_comparison).parameters


class Scenario:
    """One engine (private in-memory store) holding the honest training feedback."""

    def __init__(self, ds: Any, train: np.ndarray, test: np.ndarray,
                 vectors: dict[str, np.ndarray], config: Any, honest_sources: list[str] | None) -> None:
        from eagle_core import Eagle
        from eagle_core.evaluation._eagle_router import lookup_embedder

        texts = list(vectors)
        self.ds, self.test = ds, test
        self.models = list(ds.models)
        self.eagle = Eagle(models={m: 0.0 for m in self.models}, collection=f"poison-{uuid.uuid4().hex[:12]}",
                           embedder=lookup_embedder(texts, np.stack([vectors[t] for t in texts])),
                           config=config)
        items = []
        for n, i in enumerate(train):
            item: dict[str, Any] = {"query": ds.prompts[i],
                                    "scores": {m: float(ds.scores[i, j]) for j, m in enumerate(self.models)}}
            if honest_sources is not None:
                item["source"] = honest_sources[n]
            items.append(item)
        self.eagle.record_many(items, progress=False)

    def route_all(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Top-1 model index and normalised score matrix q for every test prompt, and the median
        route time (ms; embeddings come from a table, so this is search + replay + choice)."""
        col = {m: j for j, m in enumerate(self.models)}
        top = np.zeros(len(self.test), dtype=int)
        q = np.zeros((len(self.test), len(self.models)))
        times = []
        for r, i in enumerate(self.test):
            t0 = time.perf_counter()
            decision = self.eagle.route(self.ds.prompts[i], explore=False)  # the ranking
            times.append(time.perf_counter() - t0)
            top[r] = col[decision.model]
            for ms in decision.ranking:
                q[r, col[ms.model]] = ms.normalized
        return top, q, 1000 * float(np.median(times))

    def attack(self, texts: list[str], winner: str, loser: str, tagged: bool,
               kind: str = "comparisons") -> None:
        """One rigged vote per text: ``winner`` beats ``loser`` (``comparisons``), or a thumbs-up on
        ``winner``'s answer and a thumbs-down on ``loser``'s (``thumbs``)."""
        if kind == "thumbs":
            items = [{"query": t, "model": m, "thumbs": up} for t in texts
                     for m, up in ((winner, True), (loser, False))]
        else:
            items = [{"query": t, "winner": winner, "loser": loser} for t in texts]
        if tagged:
            for item in items:
                item["source"] = ATTACKER
        self.eagle.record_many(items, progress=False)


def total_auc(ds: Any, train: np.ndarray, test: np.ndarray, q: np.ndarray) -> float:
    """The evaluation's AUC per sub-dataset (λ rule on training mean costs), summed."""
    from eagle_core.evaluation._metrics import LAMBDAS, choose, curve

    total = 0.0
    for name in ds.subset_names:
        rows = set(ds.subset_indices(name).tolist())
        tr = np.array([i for i in train if i in rows])
        sel = np.array([r for r, i in enumerate(test) if i in rows])
        cost = ds.mean_costs(tr)
        te = test[sel]
        choices = [choose(q[sel], cost, lam) for lam in LAMBDAS]
        total += curve(choices, ds.scores[te], ds.costs[te], LAMBDAS).auc
    return total


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data root holding routerbench/")
    parser.add_argument("--votes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--attacks", nargs="+", choices=ATTACKS, default=list(ATTACKS))
    parser.add_argument("--topic", default="mbpp", help="sub-dataset whose prompts the attack texts vary")
    parser.add_argument("--users", type=int, default=300, help="honest sources in the strangers scenario")
    parser.add_argument("--quick", action="store_true", help="route a 150-prompt sample of the test set")
    parser.add_argument("--normalization", default=None,
                        help="EagleConfig.normalization for every engine (default: the engine's, 'auto')")
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from tqdm.auto import tqdm

    from eagle_core import EagleConfig
    from eagle_core.evaluation import CachedEmbedder

    ds = load_or_exit("routerbench", args.data, "bench_poison")
    train, test = ds.split(seed=42, train_frac=0.7)
    if args.quick:
        test = np.sort(np.random.default_rng(0).choice(test, size=150, replace=False))
    mean_score = ds.scores[train].mean(axis=0)
    best, worst = ds.models[int(np.argmax(mean_score))], ds.models[int(np.argmin(mean_score))]
    topic = [ds.prompts[i] for i in train if ds.subsets[i] == args.topic]
    steps = sorted(set(args.votes))
    texts = attack_texts(topic, steps[-1])
    embed = CachedEmbedder(progress=not args.quiet)
    all_texts = list(dict.fromkeys([*ds.prompts, *texts]))
    vectors = dict(zip(all_texts, embed(all_texts), strict=True))

    sources = supports_sources()
    base = EagleConfig() if args.normalization is None else EagleConfig(normalization=args.normalization)
    defended = base.replace(source_defence=True) if sources else None
    configs = {"off": base.replace(source_defence=False) if sources else base}
    if defended is not None:
        configs["on"] = defended
    users = zipf_users(len(train), args.users)
    plan = [(attack, "trusted", name, None) for attack in args.attacks for name in configs]
    if sources:
        plan += [(attack, "strangers", name, users) for attack in args.attacks for name in configs]
    result: dict[str, Any] = {
        "machine": machine(), "command": " ".join(["python", *sys.argv]), "n_train": int(len(train)),
        "n_test": int(len(test)), "best": best, "worst": worst, "topic": args.topic,
        "votes": steps, "attacks": list(args.attacks), "sources_supported": sources,
        "config_on": defended.to_dict() if defended is not None else None, "runs": {},
    }
    bar = tqdm(total=len(plan) * (1 + len(steps)), desc="poison scenarios", disable=args.quiet)
    for attack, honest, name, honest_sources in plan:
        t0 = time.perf_counter()
        scen = Scenario(ds, train, test, vectors, configs[name], honest_sources)
        top0, q0, ms0 = scen.route_all()
        base_auc = total_auc(ds, train, test, q0)
        r0 = scen.eagle.ratings
        bar.update(1)
        run: dict[str, Any] = {"auc_no_attack": base_auc, "route_ms_p50": ms0, "steps": {}}
        done = 0
        for n in steps:
            scen.attack(texts[done:n], worst, best, tagged=sources, kind=attack)
            done = n
            top, q, ms = scen.route_all()
            auc_n = total_auc(ds, train, test, q)
            run["steps"][n] = {"flipped": float(np.mean(top != top0)),
                               "to_worst": float(np.mean(top == ds.models.index(worst))),
                               "auc": auc_n, "auc_lost": base_auc - auc_n,
                               "global_shift": {m: scen.eagle.ratings[m] - r0[m] for m in (best, worst)},
                               "route_ms_p50": ms}
            bar.update(1)
        run["seconds"] = round(time.perf_counter() - t0, 1)
        result["runs"][f"{attack}/{honest}/defence-{name}"] = run
    bar.close()
    if sources:
        runs = result["runs"]
        for honest in ("trusted", "strangers"):
            attack = args.attacks[0]
            result[f"defence_cost_auc_{honest}"] = (runs[f"{attack}/{honest}/defence-off"]["auc_no_attack"]
                                                   - runs[f"{attack}/{honest}/defence-on"]["auc_no_attack"])

    print(f"best {best}, worst {worst}; {len(test)} test prompts; attack texts vary {args.topic} prompts")
    print(f"{'attack / honest feedback / defence':<40} {'AUC':>7} " + " ".join(
        f"{f'{n} votes: flipped, AUC lost':>30}" for n in steps) + f" {'shift best, worst':>18}")
    for label, run in result["runs"].items():
        cells = " ".join(f"{run['steps'][n]['flipped']:>18.1%} {run['steps'][n]['auc_lost']:>+11.4f}"
                         for n in steps)
        shift = run["steps"][steps[-1]]["global_shift"]
        print(f"{label:<40} {run['auc_no_attack']:>7.4f} {cells} {shift[best]:>+8.1f} {shift[worst]:>+8.1f}")
    for key in ("defence_cost_auc_trusted", "defence_cost_auc_strangers"):
        if key in result:
            print(f"{key}: {result[key]:+.4f}")
    out = Path(args.out)
    write_json(out / "poison.json", result)
    plot(result, out / "poison.png")
    print(f"wrote {out / 'poison.json'} and {out / 'poison.png'}")
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    """Share of routes flipped vs number of rigged votes, one line per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attacks = result.get("attacks", ["comparisons"])
    fig, axes = plt.subplots(1, len(attacks), figsize=(6 * len(attacks), 4), squeeze=False)
    for ax, attack in zip(axes[0], attacks, strict=True):
        for label, run in result["runs"].items():
            if not label.startswith(f"{attack}/"):
                continue
            xs = [0, *result["votes"]]
            ys = [0.0, *(100 * run["steps"][n]["flipped"] for n in result["votes"])]
            ax.plot(xs, ys, marker="o", label=label.split("/", 1)[1])
        ax.axhline(1.0, color="grey", linestyle=":", label="target: < 1 %")
        ax.set_xlabel(f"rigged votes from one source ({attack})")
        ax.set_ylabel("test routes whose top-1 model changed (%)")
        ax.set_title(f"RouterBench: promote '{result['worst']}' over '{result['best']}'\n"
                     f"near {result['topic']}, {attack}", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
