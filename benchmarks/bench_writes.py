"""Single-write latency (issue 15): what one ``record_*`` call costs as the store grows.

The call a web handler makes: a fresh question is routed (untimed; this embeds it with the real
bundled all-MiniLM-L6-v2), then ``record_feedback(decision_id, thumbs=...)`` is timed, i.e. the
durable write of one event whose query is new to the store. With ``--stored-series`` a second
series, interleaved, times ``record_comparison`` on an already stored query (no new
neighbour-index record); it doubles the writes per iteration, so each timed call more often waits
behind another write still in progress (the index and decision records written behind).

One persistent Chroma store in a temp dir grows to each size in turn (default 1k, 20k, 100k stored
events); it is filled with ``record_many`` by an engine using synthetic 384-d vectors (MiniLM
would need hours for 100k texts), then reopened with MiniLM for the timed calls. Only the single
calls are timed.

Usage: ``python benchmarks/bench_writes.py [--sizes 1000 20000 100000] [--calls 200]
[--code DIR] [--dir /dev/shm] [--out bench-out]``; ``--code /path/to/checkout`` imports
``eagle_core`` from another checkout (e.g. the code before a change) so before/after run the same
script; ``--dir`` puts the store elsewhere (a tmpfs takes the shared disk's fsync latency out).
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def _import_engine(code: str | None) -> Any:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(Path(code).resolve()) if code else str(HERE.parent))
    import eagle_core

    return eagle_core


def _meet(folder: str | None, peers: int, step: str, label: str) -> None:
    """Wait (at most 30 min) until ``peers`` runs sharing ``folder`` have reached ``step``."""
    if folder is None:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{step}.{''.join(c if c.isalnum() else '-' for c in label)}").touch()
    deadline = time.monotonic() + 1800
    while len(list(Path(folder).glob(f"{step}.*"))) < peers and time.monotonic() < deadline:
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 20_000, 100_000])
    parser.add_argument("--calls", type=int, default=200, help="timed calls per size and series")
    parser.add_argument("--code", default=None, help="checkout to import eagle_core from")
    parser.add_argument("--label", default=None, help="name of this run in the output file")
    parser.add_argument("--dir", default=None, help="where the temp store goes (default: $TMPDIR)")
    parser.add_argument("--barrier", default=None,
                        help="folder shared with --peers other runs: time the calls only when all are "
                             "built, so runs of two code trees started together are timed side by side")
    parser.add_argument("--peers", type=int, default=2)
    parser.add_argument("--stored-series", action="store_true",
                        help="also time record_comparison on stored queries (interleaved)")
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    eagle_core = _import_engine(args.code)
    import torch
    from _common import MODELS, SyntheticEmbedder, machine, percentiles, synthetic_scores, write_json
    from tqdm.auto import tqdm

    torch.set_num_threads(1)  # two shared cores: one intra-op thread embeds short texts fastest
    logging.getLogger("eagle_core").setLevel(logging.ERROR)  # "built with another embedder" warning
    label = args.label or ("code=" + str(args.code) if args.code else "this checkout")
    results: dict[str, Any] = {"machine": machine(), "label": label,
                               "eagle_core": eagle_core.__file__, "sizes": []}
    syn = SyntheticEmbedder()
    minilm = eagle_core.SentenceTransformerEmbedder()
    minilm.embed(["warm up the model"])
    rng = np.random.default_rng(0)
    names = list(MODELS)
    results["store_dir"] = args.dir or tempfile.gettempdir()
    with tempfile.TemporaryDirectory(prefix="eagle-bench-writes-", dir=args.dir) as tmp:
        path = Path(tmp) / "store"
        stored = 0
        for n in sorted(args.sizes):
            builder = eagle_core.Eagle(MODELS, path=path, collection="bench", embedder=syn)
            items = [{"query": syn.text(i), "scores": synthetic_scores(i, syn.clusters, rng)}
                     for i in range(stored, n)]
            t0 = time.perf_counter()
            builder.record_many(items, batch_size=500, progress=not args.quiet)
            build_s = time.perf_counter() - t0
            builder.close()
            del builder
            gc.collect()
            _meet(args.barrier, args.peers, f"built-{n}", label)
            eagle = eagle_core.Eagle(MODELS, path=path, collection="bench", embedder=minilm).open()
            texts = [f"How should I phrase question number {n + j} about {names[j % 5]}?"
                     for j in range(args.calls + 10)]
            feedback_ms, repeat_ms = [], []
            for j, text in enumerate(tqdm(texts, desc=f"record_feedback N={n}", unit="call",
                                          disable=args.quiet, leave=False)):
                decision = eagle.route(text)
                t0 = time.perf_counter()
                eagle.record_feedback(decision.decision_id, thumbs=bool(j % 2))
                feedback_ms.append((time.perf_counter() - t0) * 1e3)
                if not args.stored_series:
                    continue
                old = syn.text(j % n)  # a stored query: the neighbour index already has it
                eagle.embed([old])  # cached, as after a route: only the write is timed
                t0 = time.perf_counter()
                eagle.record_comparison(old, winner=names[j % 5], loser=names[(j + 1) % 5])
                repeat_ms.append((time.perf_counter() - t0) * 1e3)
            stored = n + (2 if args.stored_series else 1) * len(texts)
            row = {"stored_events": n, "build_s": build_s,
                   "record_feedback_new_query": percentiles(feedback_ms[10:])}
            if repeat_ms:
                row["record_comparison_stored_query"] = percentiles(repeat_ms[10:])
            results["sizes"].append(row)
            eagle.close()
            del eagle
            gc.collect()
            _meet(args.barrier, args.peers, f"timed-{n}", label)
            fb = row["record_feedback_new_query"]
            line = (f"[{label}] N={n:>7}: record_feedback (new query) p50 {fb['p50_ms']:.2f} ms "
                    f"p99 {fb['p99_ms']:.2f} ms")
            if repeat_ms:
                rp = row["record_comparison_stored_query"]
                line += (f"; record_comparison (stored query) p50 {rp['p50_ms']:.2f} ms "
                         f"p99 {rp['p99_ms']:.2f} ms")
            print(line + f" (built in {build_s:.0f} s)", flush=True)
    slug = "".join(c if c.isalnum() else "-" for c in label).strip("-")
    write_json(Path(args.out) / f"writes-{slug}.json", results)
    return results


if __name__ == "__main__":
    main()
