"""Load benchmark (issue 7): several router processes doing mixed route + feedback on one Chroma server.

A ``chroma run`` server starts on a free 127.0.0.1 port in a temp dir; the store is seeded with
``--seed-queries`` feedback items; then ``--procs`` worker processes (multiprocessing, spawn) each
loop for ``--seconds``: route a fresh query, and for ``--feedback-rate`` of the routes give feedback
on the decision (``record_feedback`` by decision id: scores, a thumb or a comparison). Every
process has ``sync_interval=--sync`` so it folds in the others' feedback while routing.

Reported: operations/s over all processes, p50/p99 latency per operation, errors (must be 0),
time spent re-reading the store (syncs and full replays), and two end checks: every acknowledged
event is in the log, and all processes end with identical global ratings.

Embeddings are synthetic (``_common.SyntheticEmbedder``): latencies exclude embedding.

Usage: ``python benchmarks/bench_load.py [--procs 4] [--seconds 60] [--out bench-out]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    MODELS,
    ChromaServer,
    SyntheticEmbedder,
    http_client,
    machine,
    percentiles,
    synthetic_scores,
    write_json,
)

COLLECTION = "load"


def _engine(host: str, port: int, sync: float | None, models: Any = None) -> Any:
    from eagle_core import Eagle, EagleConfig

    return Eagle(models, client=http_client(host, port), collection=COLLECTION,
                 embedder=SyntheticEmbedder(), config=EagleConfig(sync_interval=sync)).open()


def _instrument(eagle: Any, stats: dict[str, float]) -> None:
    """Count time spent in syncs, in-memory re-orderings of late events (Replica.reorder) and full
    replays of the log (Replica.load), without changing the engine."""
    replica = eagle._replica  # the engine's copy of the log (opened by _engine)
    sync, load, reorder = replica.sync, replica.load, replica.reorder

    def timed_sync() -> int:
        t0 = time.perf_counter()
        try:
            return sync()
        finally:
            stats["sync_s"] += time.perf_counter() - t0
            stats["syncs"] += 1

    def timed_load(**kwargs: Any) -> None:
        t0 = time.perf_counter()
        try:
            load(**kwargs)
        finally:
            stats["replay_s"] += time.perf_counter() - t0
            stats["replays"] += 1

    def timed_reorder(new: Any) -> bool:
        t0 = time.perf_counter()
        try:
            return reorder(new)
        finally:
            stats["reorder_s"] += time.perf_counter() - t0
            stats["reorders"] += 1

    replica.sync, replica.load, replica.reorder = timed_sync, timed_load, timed_reorder


def worker(idx: int, host: str, port: int, seconds: float, sync: float, feedback_rate: float,
           start: Any, queue: Any) -> None:
    out: dict[str, Any] = {"idx": idx, "route_ms": [], "feedback_ms": [], "errors": [], "acked": 0,
                           "stats": {"sync_s": 0.0, "syncs": 0, "reorder_s": 0.0, "reorders": 0,
                                     "replay_s": 0.0, "replays": 0}}
    try:
        eagle = _engine(host, port, sync)
        _instrument(eagle, out["stats"])
        rng = np.random.default_rng(1000 + idx)
        names = list(MODELS)
        start.wait(timeout=300)
        deadline = time.monotonic() + seconds
        j = 0
        while time.monotonic() < deadline:
            q = SyntheticEmbedder.text(10_000_000 * (idx + 1) + j)
            j += 1
            try:
                t0 = time.perf_counter()
                decision = eagle.route(q)
                out["route_ms"].append((time.perf_counter() - t0) * 1e3)
                if rng.random() < feedback_rate:
                    kind = j % 3
                    t0 = time.perf_counter()
                    if kind == 0:
                        eagle.record_feedback(decision.decision_id,
                                              scores=synthetic_scores(j, 64, rng))
                    elif kind == 1:
                        eagle.record_feedback(decision.decision_id, thumbs=bool(rng.random() < 0.6))
                    else:
                        other = names[(names.index(decision.model) + 1) % len(names)]
                        eagle.record_feedback(decision.decision_id, worse=other)
                    out["feedback_ms"].append((time.perf_counter() - t0) * 1e3)
                    out["acked"] += 1
            except Exception as exc:  # counted and reported: must be 0
                out["errors"].append(f"{type(exc).__name__}: {exc}")
        # settle: fold in everyone's feedback, then report the ratings
        start.wait(timeout=300)
        eagle.sync()
        out["ratings"] = eagle.ratings
        out["n_feedback"] = eagle.n_feedback
    except Exception:
        out["errors"].append(traceback.format_exc())
    queue.put(out)


def run(procs: int, seconds: float, sync: float, feedback_rate: float, seed_queries: int,
        progress: bool) -> dict[str, Any]:
    from tqdm.auto import tqdm

    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="eagle-load-") as tmp, ChromaServer(Path(tmp) / "db") as srv:
        owner = _engine(srv.host, srv.port, None, models=MODELS)
        rng = np.random.default_rng(7)
        owner.record_many([{"query": SyntheticEmbedder.text(i), "scores": synthetic_scores(i, 64, rng)}
                           for i in range(seed_queries)], progress=progress)
        seeded = owner.n_feedback
        start = ctx.Barrier(procs + 1)
        queue = ctx.Queue()
        workers = [ctx.Process(target=worker, args=(i, srv.host, srv.port, seconds, sync, feedback_rate,
                                                    start, queue)) for i in range(procs)]
        for w in workers:
            w.start()
        start.wait(timeout=300)  # every worker has opened its engine
        t0 = time.perf_counter()
        for _ in tqdm(range(int(seconds)), desc=f"load: {procs} processes", unit="s", disable=not progress):
            time.sleep(1)
        start.wait(timeout=300)  # every worker has stopped writing
        results = [queue.get(timeout=600) for _ in workers]
        elapsed = time.perf_counter() - t0
        for w in workers:
            w.join(timeout=60)
        fresh = _engine(srv.host, srv.port, None)
        results.sort(key=lambda r: r["idx"])
    routes = [x for r in results for x in r["route_ms"]]
    feedback = [x for r in results for x in r["feedback_ms"]]
    errors = [e for r in results for e in r["errors"]]
    acked = sum(r["acked"] for r in results)
    ratings = [r.get("ratings") for r in results]
    return {
        "machine": machine(),
        "procs": procs, "seconds": seconds, "wall_s": elapsed, "sync_interval": sync,
        "feedback_rate": feedback_rate, "seed_queries": seed_queries,
        "ops": len(routes) + len(feedback),
        "ops_per_s": (len(routes) + len(feedback)) / elapsed,
        "routes_per_s": len(routes) / elapsed,
        "feedback_per_s": len(feedback) / elapsed,
        "route": percentiles(routes) if routes else {},
        "feedback": percentiles(feedback) if feedback else {},
        "errors": len(errors), "error_samples": errors[:5],
        "acknowledged_feedback": acked,
        "no_lost_feedback": fresh.n_feedback == seeded + acked,
        "log_feedback_events": fresh.n_feedback,
        "converged": all(r == fresh.ratings for r in ratings),
        "per_process": [{"idx": r["idx"], "routes": len(r["route_ms"]), "feedback": len(r["feedback_ms"]),
                         **r["stats"]} for r in results],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sync", type=float, default=1.0, help="EagleConfig.sync_interval of each process")
    parser.add_argument("--feedback-rate", type=float, default=0.5)
    parser.add_argument("--seed-queries", type=int, default=2000)
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    res = run(args.procs, args.seconds, args.sync, args.feedback_rate, args.seed_queries, not args.quiet)
    r, f = res["route"], res["feedback"]
    print(f"{res['procs']} processes x {res['seconds']:.0f} s: {res['ops_per_s']:.1f} ops/s "
          f"({res['routes_per_s']:.1f} routes/s, {res['feedback_per_s']:.1f} feedback/s); "
          f"route p50 {r.get('p50_ms', float('nan')):.1f} ms p99 {r.get('p99_ms', float('nan')):.1f} ms; "
          f"feedback p50 {f.get('p50_ms', float('nan')):.1f} ms p99 {f.get('p99_ms', float('nan')):.1f} ms; "
          f"errors {res['errors']}; no lost feedback: {res['no_lost_feedback']}; "
          f"converged: {res['converged']}", flush=True)
    for p in res["per_process"]:
        print(f"  process {p['idx']}: {p['routes']} routes, {p['feedback']} feedback, {p['syncs']} syncs "
              f"({p['sync_s']:.1f} s), {p['reorders']} in-memory re-orderings ({p['reorder_s']:.2f} s), "
              f"{p['replays']} full replays ({p['replay_s']:.1f} s)")
    write_json(Path(args.out) / "load.json", res)
    print(f"wrote {Path(args.out) / 'load.json'}")
    return res


if __name__ == "__main__":
    main()
