"""Route latency while the same engine writes (issue 15): 4 router + 4 writer threads, one engine,
a real ``chroma run`` server; one code tree against another, side by side.

Each code tree (``--trees``: this repository, and e.g. a checkout of ``main``) runs in its own
process (``PYTHONPATH`` = the tree) against its own fresh ``chroma run`` server on a free loopback
port: the store is seeded with ``--seed-queries`` feedback items, then for ``--seconds`` four
threads route fresh queries while four threads record feedback (comparisons and score sets on
fresh queries) as fast as they can; a ``--quiet-seconds`` phase of the four routers alone comes
first, for reference. Reported per tree: route p50/p99 (ms) in both phases, routes/s and
feedback/s. Embeddings are synthetic (``_common.SyntheticEmbedder``): latencies exclude embedding.

Usage: ``python benchmarks/bench_contention.py --trees . ../main [--seconds 30] [--out bench-out]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

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

ROUTERS = WRITERS = 4


def _loop(stop: threading.Event, base: int, step: Any, out: list[float], errors: list[str]) -> None:
    j = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            step(base + j)
            out.append((time.perf_counter() - t0) * 1e3)
        except Exception as exc:  # reported; must stay 0
            errors.append(f"{type(exc).__name__}: {exc}")
        j += 1


def _phase(eagle: Any, seconds: float, writers: int, base: int) -> dict[str, Any]:
    rng = np.random.default_rng(base)
    names = list(MODELS)
    stop = threading.Event()
    routes: list[list[float]] = [[] for _ in range(ROUTERS)]
    writes: list[list[float]] = [[] for _ in range(writers)]
    errors: list[str] = []

    def route(i: int) -> None:
        eagle.route(SyntheticEmbedder.text(i))

    def write(i: int) -> None:
        q = SyntheticEmbedder.text(i)
        if i % 2:
            eagle.record_scores(q, synthetic_scores(i, 64, rng))
        else:
            eagle.record_comparison(q, winner=names[i % 5], loser=names[(i + 1) % 5])

    threads = [threading.Thread(target=_loop, args=(stop, base + 10**6 * (k + 1), route, routes[k], errors))
               for k in range(ROUTERS)]
    threads += [threading.Thread(target=_loop,
                                 args=(stop, base + 10**6 * (k + 11), write, writes[k], errors))
                for k in range(writers)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    all_routes = [x for r in routes for x in r]
    all_writes = [x for w in writes for x in w]
    return {"route": percentiles(all_routes), "routes_per_s": len(all_routes) / seconds,
            "feedback": percentiles(all_writes) if all_writes else {},
            "feedback_per_s": len(all_writes) / seconds, "errors": len(errors), "error_samples": errors[:3]}


def worker(seconds: float, quiet_seconds: float, seed_queries: int) -> dict[str, Any]:
    import eagle_core
    from eagle_core import Eagle

    tmp_dir = tempfile.TemporaryDirectory(prefix="eagle-contention-")
    with tmp_dir as tmp, ChromaServer(Path(tmp) / "db") as srv:
        eagle = Eagle(MODELS, client=http_client(srv.host, srv.port), collection="contention",
                      embedder=SyntheticEmbedder()).open()
        rng = np.random.default_rng(7)
        eagle.record_many([{"query": SyntheticEmbedder.text(i), "scores": synthetic_scores(i, 64, rng)}
                           for i in range(seed_queries)], progress=False)
        for i in range(20):  # warm-up
            eagle.route(SyntheticEmbedder.text(5 * 10**7 + i))
        quiet = _phase(eagle, quiet_seconds, 0, 10**8)
        loaded = _phase(eagle, seconds, WRITERS, 2 * 10**8)
    return {"eagle_core": str(Path(eagle_core.__file__).parent), "seed_queries": seed_queries,
            "seconds": seconds, "quiet_seconds": quiet_seconds, "routers_only": quiet,
            "routers_and_writers": loaded}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", nargs="+", default=[str(HERE.parent)],
                        help="code trees to compare (each imported via PYTHONPATH), e.g. . ../main")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quiet-seconds", type=float, default=10.0)
    parser.add_argument("--seed-queries", type=int, default=2000)
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.seconds, args.quiet_seconds, args.seed_queries)))
        return {}
    results = {}
    for tree in args.trees:
        root = str(Path(tree).resolve())
        env = {**os.environ, "PYTHONPATH": root, "ANONYMIZED_TELEMETRY": "False"}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--seconds", str(args.seconds),
               "--quiet-seconds", str(args.quiet_seconds), "--seed-queries", str(args.seed_queries)]
        print(f"running {root} ({args.quiet_seconds:.0f} s routers only, {args.seconds:.0f} s "
              f"{ROUTERS} routers + {WRITERS} writers) ...", file=sys.stderr)
        done = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, check=True)
        results[root] = json.loads(done.stdout.strip().splitlines()[-1])
    out = {"machine": machine(), "command": " ".join(sys.argv), "trees": results}
    write_json(Path(args.out) / "contention.json", out)
    print(f"{'tree':40s} {'quiet p50':>10s} {'quiet p99':>10s} {'loaded p50':>11s} {'loaded p99':>11s} "
          f"{'routes/s':>9s} {'feedback/s':>11s} {'errors':>6s}")
    for root, res in results.items():
        q, lo = res["routers_only"], res["routers_and_writers"]
        print(f"{root[-40:]:40s} {q['route']['p50_ms']:10.1f} {q['route']['p99_ms']:10.1f} "
              f"{lo['route']['p50_ms']:11.1f} {lo['route']['p99_ms']:11.1f} {lo['routes_per_s']:9.1f} "
              f"{lo['feedback_per_s']:11.1f} {q['errors'] + lo['errors']:6d}")
    return out


if __name__ == "__main__":
    main()
