"""Latency of one online step through the real engine, as a user's process runs it: ``route``
(MiniLM embedding, Chroma neighbour search, ratings and choice, decision bookkeeping) then
``record_feedback(score=)`` on the served answer; in-memory Chroma, torch's default threads.

    python benchmarks/bench_online_step.py --data $EAGLE_DATA_DIR --code /path/to/old/checkout
    python benchmarks/bench_online_step.py --data $EAGLE_DATA_DIR --embedders torch onnx onnx-int8

``--embedders`` times the bundled MiniLM on torch (the default embedder), on ONNX Runtime
(``embedder="onnx"``, needs ``pip install "eagle-router[onnx]"``) and/or its int8 copy
(``embedder="onnx-int8"``) side by side, each in its own processes. The ONNX graph cache is a fresh
folder (``--onnx-cache``, default a temporary one) that is emptied before every first-round ONNX run,
so round 1's first route pays the export (int8: export + quantization; cold cache) and later
rounds' first routes load the cached graph (warm cache).

Two prompt sets: arena_bench's real Chatbot-Arena prompts (chat questions) and RouterBench's long
few-shot prompts (most longer than MiniLM's 256-token window). Each (code tree, dataset) runs in a
fresh process that imports ``eagle_core`` from that tree (``--code``; this checkout always runs),
alternating the order per round, so before/after are timed side by side on the same machine load.
A process times its first route and feedback after start-up (opening the store and loading MiniLM
included), replays ``--warm`` steps of history (their prompts embedded in one batch first, to save
time), then times ``--steps`` steps on prompts it has never seen (each route embeds), with each
step's parts: embed, neighbour search, ratings+choice, decision bookkeeping, the rest of the route;
feedback log write (Chroma), fold + publish, the rest of the feedback. Prints p50 per part (medians
of parts do not add up to the median total), p90 of the totals and ratios to this checkout; writes
JSON and a bar plot to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
from _common import REPO, machine, write_json  # noqa: E402

ROUTE_PARTS = ("embed", "search", "choice", "bookkeeping", "route_rest")
FEEDBACK_PARTS = ("log_write", "fold", "feedback_rest")
TOTALS = ("route", "feedback", "step")
LABELS = {"embed": "embed", "search": "neighbour search", "choice": "ratings+choice",
          "bookkeeping": "decision bookkeeping", "route_rest": "rest of route",
          "log_write": "feedback log write", "fold": "fold+publish", "feedback_rest": "rest of feedback"}


# ---------------------------------------------------------------------------------------- worker --
class _Clock:
    """Adds the time spent in wrapped methods to the current phase's parts."""

    def __init__(self) -> None:
        self.phase = "route"
        self.acc: dict[str, float] = {}

    def wrap(self, obj: Any, attr: str, part: Callable[[str], str | None]) -> None:
        fn = getattr(obj, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                name = part(self.phase)
                if name is not None:
                    self.acc[name] = self.acc.get(name, 0.0) + time.perf_counter() - t0

        setattr(obj, attr, timed)


def _instrument(eagle: Any) -> _Clock:
    """Time the engine's parts by wrapping (on the instances) the calls ``route`` and
    ``record_feedback`` make; the same private names exist before and after this change."""
    clock = _Clock()
    only = {"route": lambda name: (lambda phase: name if phase == "route" else None),
            "feedback": lambda name: (lambda phase: name if phase == "feedback" else None)}
    replica = eagle._opened()
    clock.wrap(eagle._cache, "embed_one", only["route"]("embed"))
    clock.wrap(replica.store, "nearest", only["route"]("search"))
    clock.wrap(eagle._server, "route", only["route"]("choice"))
    clock.wrap(eagle._decisions, "remember", only["route"]("bookkeeping"))
    clock.wrap(replica.store, "append", only["feedback"]("log_write"))
    clock.wrap(replica, "commit", only["feedback"]("commit"))
    return clock


def _step(eagle: Any, text: str, grade: Callable[[str], float], wtp: float) -> tuple[float, float]:
    t0 = time.perf_counter()
    d = eagle.route(text, willingness_to_pay=wtp)
    t1 = time.perf_counter()
    eagle.record_feedback(d.decision_id, score=grade(d.model))
    return t1 - t0, time.perf_counter() - t1


def worker(path: Path, steps: int, warm: int, threads: int | None, embedder: str = "torch",
           onnx_cache: Path | None = None) -> dict[str, Any]:
    if embedder == "torch" and threads is not None:
        import torch

        torch.set_num_threads(threads)
    import eagle_core
    from eagle_core import Eagle, EagleConfig
    from eagle_core.datasets import load_dataset

    ds = load_dataset(path)
    cost = ds.mean_costs()
    cols = np.flatnonzero(~np.isnan(cost))
    models = {ds.models[c]: float(cost[c]) for c in cols}
    column = {m: i for i, m in enumerate(ds.models)}
    steps = min(steps, len(ds) - 1)
    warm = max(0, min(warm, len(ds) - 1 - steps))
    order = np.random.default_rng(0).permutation(len(ds))[: 1 + warm + steps]
    wtp = 4 * max(models.values())

    def run(eagle: Any, row: int) -> tuple[float, float]:
        return _step(eagle, ds.prompts[row], lambda m: float(ds.scores[row, column[m]]), wtp)

    if embedder.startswith("onnx"):
        from eagle_core import OnnxMiniLMEmbedder

        spec: Any = OnnxMiniLMEmbedder(cache_dir=onnx_cache, threads=threads,
                                       quantize=embedder == "onnx-int8")
    else:
        spec = None  # the default: sentence-transformers on torch
    eagle = Eagle(models, embedder=spec, config=EagleConfig(seed=0))  # nothing opened or loaded yet
    first_route, first_feedback = run(eagle, order[0])
    eagle.embed([ds.prompts[r] for r in order[1: 1 + warm]])  # history: batch-embedded, untimed
    for row in order[1: 1 + warm]:
        run(eagle, row)
    clock = _instrument(eagle)
    parts: dict[str, list[float]] = {k: [] for k in ROUTE_PARTS + FEEDBACK_PARTS + TOTALS}
    for row in order[1 + warm:]:
        clock.acc, clock.phase = {}, "route"
        text = ds.prompts[row]
        t0 = time.perf_counter()
        d = eagle.route(text, willingness_to_pay=wtp)
        t1 = time.perf_counter()
        clock.phase = "feedback"
        eagle.record_feedback(d.decision_id, score=float(ds.scores[row, column[d.model]]))
        t2 = time.perf_counter()
        a = clock.acc
        inner = sum(a.get(k, 0.0) for k in ROUTE_PARTS[:-1])
        got = {**{k: a.get(k, 0.0) for k in ROUTE_PARTS[:-1]}, "route_rest": t1 - t0 - inner,
               "log_write": a.get("log_write", 0.0),
               "fold": a.get("commit", 0.0) - a.get("log_write", 0.0),
               "feedback_rest": t2 - t1 - a.get("commit", 0.0),
               "route": t1 - t0, "feedback": t2 - t1, "step": t2 - t0}
        for k, v in got.items():
            parts[k].append(1e3 * v)
    if embedder.startswith("onnx"):
        count = eagle.embedder_.count_tokens
        exported = bool(eagle.embedder_.exported_)
    else:
        tokenizer = eagle.embedder_._load().tokenizer
        count = lambda text: len(tokenizer(text, truncation=False)["input_ids"])  # noqa: E731
        exported = False
    tokens = [count(ds.prompts[r]) for r in order[1 + warm:]]
    eagle.close()
    torch = sys.modules.get("torch")
    return {"eagle_core": eagle_core.__file__, "embedder": embedder,
            "torch_threads": torch.get_num_threads() if torch is not None else None,
            "torch_imported": torch is not None, "first_route_exported": exported,
            "n_steps": steps, "n_warm": warm, "tokens_p50": float(np.median(tokens)),
            "share_over_256_tokens": float(np.mean(np.array(tokens) > 256)),
            "first_route_ms": 1e3 * first_route, "first_feedback_ms": 1e3 * first_feedback,
            "ms": parts, "loadavg_after": list(os.getloadavg())}


# ---------------------------------------------------------------------------------------- parent --
def _run_worker(code: Path, path: Path, args: argparse.Namespace, embedder: str = "torch",
                cold: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE), "--worker", "--dataset-path", str(path), "--steps",
           str(args.steps), "--warm", str(args.warm), "--embedder", embedder]
    if embedder.startswith("onnx"):
        graphs = args.onnx_cache / "onnx"
        if cold and graphs.is_dir():
            for graph in graphs.glob("*.onnx"):
                graph.unlink()
        cmd += ["--onnx-cache", str(args.onnx_cache)]
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    # the tree under test first; other PYTHONPATH entries (e.g. where onnx is installed) after it
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
             if p and Path(p).resolve() not in (REPO, code)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), *extra])}
    done = subprocess.run(cmd, env=env, cwd=code, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker for {code} on {path.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[0])
    out["ms"] = {k: [v for r in runs for v in r["ms"][k]] for k in runs[0]["ms"]}
    out["first_route_ms"] = [r["first_route_ms"] for r in runs]
    out["first_feedback_ms"] = [r["first_feedback_ms"] for r in runs]
    out["first_route_exported"] = [r.get("first_route_exported", False) for r in runs]
    out["loadavg_after"] = [r["loadavg_after"] for r in runs]
    return out


def _table(results: dict[str, dict[str, dict[str, Any]]], codes: list[str]) -> str:
    cols = ROUTE_PARTS + ("route",) + FEEDBACK_PARTS + ("feedback", "step")
    lines = []
    for dataset, by_code in results.items():
        any_run = next(iter(by_code.values()))
        threads = {r["embedder"]: r["torch_threads"] for r in by_code.values()}.get("torch")
        lines.append(f"\n{dataset}: {any_run['n_steps']} timed steps per run after {any_run['n_warm']} "
                     f"of history; prompt tokens p50 {any_run['tokens_p50']:.0f}, "
                     f"{100 * any_run['share_over_256_tokens']:.0f}% over MiniLM's 256; "
                     f"torch threads {threads}")
        lines.append("p50 ms".ljust(22) + "".join(c[:10].rjust(11) if i == 0 else c[:18].rjust(19)
                                                  for i, c in enumerate(codes)))
        base = by_code[codes[0]]
        extra = ("first route, cold cache", "first route, warm cache") if any(
            any(r.get("first_route_exported", [])) for r in by_code.values()) else ()
        for col in cols + ("step p90", "first route", "first feedback") + extra:
            row = col.ljust(22) if col not in LABELS else LABELS[col].ljust(22)
            for code in codes:
                r = by_code[code]
                if col == "step p90":
                    v = float(np.percentile(r["ms"]["step"], 90))
                elif col.startswith("first route,"):
                    cold = col.endswith("cold cache")
                    picked = [ms for ms, ex in zip(r["first_route_ms"], r["first_route_exported"],
                                                   strict=True) if ex == cold]
                    if not r["embedder"].startswith("onnx") or not picked:
                        row += "-".rjust(11 if code == codes[0] else 19)
                        continue
                    v = float(np.median(picked))
                elif col.startswith("first"):
                    v = float(np.median(r[col.replace(" ", "_") + "_ms"]))
                else:
                    v = float(np.median(r["ms"][col]))
                cell = f"{v:.2f}"
                if code != codes[0] and col in TOTALS + ("search", "choice", "bookkeeping", "embed"):
                    b = float(np.median(base["ms"][col]))
                    cell += f" ({v / b:.2f}x)" if b > 0 else ""
                row += cell.rjust(11 if code == codes[0] else 19)
            lines.append(row)
    return "\n".join(lines)


def _plot(results: dict[str, dict[str, dict[str, Any]]], codes: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = ROUTE_PARTS + FEEDBACK_PARTS
    bars = [(f"{d}\n{c}", by[c]) for d, by in results.items() for c in codes]
    fig, ax = plt.subplots(figsize=(9, 0.8 * len(bars) + 1.5))
    left = np.zeros(len(bars))
    for part in parts:
        widths = np.array([float(np.median(r["ms"][part])) for _, r in bars])
        ax.barh(range(len(bars)), widths, left=left, label=LABELS[part])
        left += widths
    ax.axvline(25, color="k", ls="--", lw=1, label="25 ms target")
    ax.set_yticks(range(len(bars)), [name for name, _ in bars])
    ax.set_xlabel("ms per online step (p50 of each part)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("EAGLE_DATA_DIR", REPO.parent / "shared" / "data")),
                    help="folder holding the datasets")
    ap.add_argument("--datasets", nargs="+", default=["arena_bench", "routerbench"])
    ap.add_argument("--code", nargs="*", type=Path, default=[],
                    help="other checkouts to time side by side with this one (e.g. the code before)")
    ap.add_argument("--steps", type=int, default=200, help="timed steps per run")
    ap.add_argument("--warm", type=int, default=200, help="steps of history before timing "
                    "(fewer when the dataset is too small: arena_bench has 275 prompts)")
    ap.add_argument("--rounds", type=int, default=2, help="runs per (code, dataset), order alternating")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads, and ONNX Runtime intra-op threads (default: each library's own)")
    ap.add_argument("--embedders", nargs="+", default=["torch"], choices=["torch", "onnx", "onnx-int8"],
                    help="MiniLM backends to time side by side (onnx: embedder='onnx', onnx-int8: "
                    "embedder='onnx-int8'); ratios to the first")
    ap.add_argument("--onnx-cache", type=Path, default=None,
                    help="EAGLE_CACHE_DIR for the ONNX runs (default: a fresh temporary folder); its "
                    "graphs are deleted before each first-round ONNX run (cold start)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/online_step"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dataset-path", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--embedder", default="torch", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.dataset_path, args.steps, args.warm, args.threads, args.embedder,
                                args.onnx_cache)))
        return
    import tempfile

    from tqdm import tqdm

    if any(e.startswith("onnx") for e in args.embedders) and args.onnx_cache is None:
        args.onnx_cache = Path(tempfile.mkdtemp(prefix="eagle-onnx-cache-"))
    trees = [REPO] + [c.resolve() for c in args.code]
    tree_names = ["this" if t == REPO else (t.name or str(t)) for t in trees]
    tree_order = list(range(1, len(trees))) + [0]  # the old code first: ratios to it
    variants = [(i, e) for i in tree_order for e in args.embedders]
    names = {(i, e): tree_names[i] + (f" {e}" if len(args.embedders) > 1 else "") for i, e in variants}
    jobs = [(r, d, v) for r in range(args.rounds) for d in args.datasets
            for v in (variants if r % 2 == 0 else variants[::-1])]
    runs: dict[tuple[str, tuple[int, str]], list[dict[str, Any]]] = {}
    info = machine()
    for r, dataset, (i, emb) in tqdm(jobs, desc="runs", unit="run"):
        runs.setdefault((dataset, (i, emb)), []).append(
            _run_worker(trees[i], args.data / dataset, args, emb, cold=r == 0))
    results = {d: {names[v]: _merge(runs[(d, v)]) for v in variants} for d in args.datasets}
    order = [names[v] for v in variants]
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average at start {info['loadavg_at_start']}, at end {info['loadavg_at_end']}; "
          f"ratios are to {order[0]!r}")
    print(_table(results, order))
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "online_step.json", {"machine": info, "args": vars(args) | {
        "data": str(args.data), "code": [str(c) for c in args.code], "out": str(args.out),
        "onnx_cache": str(args.onnx_cache)},
        "trees": dict(zip(tree_names, map(str, trees), strict=True)), "results": results})
    _plot(results, order, args.out / "online_step.png")
    print(f"wrote {args.out / 'online_step.json'} and online_step.png")


if __name__ == "__main__":
    main()
