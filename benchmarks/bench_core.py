"""Core engine benchmark (issue 2, "Measure"): route latency, batch ingestion rate, RSS.

For each size N (default 10k and 100k stored queries) on a persistent Chroma store in a temp dir:

* ingestion: ``record_many`` of N items, each the 0/1 scores of 5 models (10 comparisons per item);
  reported as comparisons/s (target >= 2,000);
* route latency *excluding* embedding: fresh queries whose vectors are already in the engine's
  embedding cache (target p50 <= 3 ms at 100k);
* route latency *including* embedding: a second engine on the same store with the real bundled
  all-MiniLM-L6-v2 routing fresh short questions it has never seen (one MiniLM call per route);
* reopen time (replaying the whole log) and process RSS (psutil) after each step.

Stored queries use synthetic unit vectors from a clustered Gaussian mixture (see
``_common.SyntheticEmbedder``): MiniLM would need hours to embed 100k texts on 2 cores.

Usage: ``python benchmarks/bench_core.py [--sizes 10000 100000] [--routes 300] [--out bench-out]``
"""

from __future__ import annotations

import argparse
import gc
import logging
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MODELS, SyntheticEmbedder, machine, percentiles, synthetic_scores, write_json  # noqa: E402

from eagle_core import Eagle, EagleConfig  # noqa: E402

FRESH = [
    "How do I {} a linked list in Rust?", "Write a haiku about {}.", "What is the capital of {}?",
    "Explain {} to a ten-year-old.", "Summarise the plot of {} in two lines.",
    "Give three tips for {} on a budget.", "Translate '{}' into French.", "Is {} a prime number?",
]
WORDS = ["reversing", "autumn", "Peru", "entropy", "Hamlet", "travelling", "good morning", "2027",
         "sorting", "the sea", "Kenya", "gravity", "Dune", "cooking", "thank you", "91"]


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def timed_routes(eagle: Eagle, texts: list[str], progress: bool, desc: str) -> list[float]:
    from tqdm.auto import tqdm

    out = []
    for text in tqdm(texts, desc=desc, unit="route", disable=not progress, leave=False):
        t0 = time.perf_counter()
        eagle.route(text)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def bench_size(n: int, routes: int, fresh: int, progress: bool, batch_size: int) -> dict:
    emb = SyntheticEmbedder()
    rng = np.random.default_rng(n)
    result: dict = {"stored_queries": n, "rss_mb_start": rss_mb()}
    with tempfile.TemporaryDirectory(prefix="eagle-bench-") as tmp:
        path = Path(tmp) / "store"
        eagle = Eagle(MODELS, path=path, collection="bench", embedder=emb, config=EagleConfig()).open()
        items = [{"query": emb.text(i), "scores": synthetic_scores(i, emb.clusters, rng)} for i in range(n)]
        t0 = time.perf_counter()
        eagle.record_many(items, batch_size=batch_size, progress=progress)
        ingest_s = time.perf_counter() - t0
        result["ingest"] = {
            "items": n, "comparisons": eagle.n_comparisons, "seconds": ingest_s,
            "comparisons_per_s": eagle.n_comparisons / ingest_s, "items_per_s": n / ingest_s,
            "batch_size": batch_size,
        }
        result["rss_mb_after_ingest"] = rss_mb()

        probes = [emb.text(n + j) for j in range(routes + 20)]
        eagle.embed(probes)  # cache hits from here on: latency excludes embedding
        timed_routes(eagle, probes[:20], False, "")  # warm-up
        lat = timed_routes(eagle, probes[20:], progress, f"route N={n} (cached embeddings)")
        result["route_excluding_embedding"] = percentiles(lat)
        eagle.close()
        del eagle
        gc.collect()

        t0 = time.perf_counter()
        reopened = Eagle(None, path=path, collection="bench", embedder=emb).open()
        result["reopen_replay_s"] = time.perf_counter() - t0
        assert reopened.n_comparisons == result["ingest"]["comparisons"]
        result["rss_mb_after_reopen"] = rss_mb()
        reopened.close()
        del reopened
        gc.collect()

        if fresh > 0:
            from tqdm.auto import tqdm

            from eagle_core import SentenceTransformerEmbedder

            logging.getLogger("eagle_core._store").setLevel(logging.ERROR)  # "other embedder" warning
            minilm = SentenceTransformerEmbedder()
            minilm.embed(["warm up the model"])
            real = Eagle(None, path=path, collection="bench", embedder=minilm).open()
            texts = [FRESH[j % len(FRESH)].format(WORDS[(j // len(FRESH)) % len(WORDS)]) + f" ({j})"
                     for j in range(fresh + 5)]
            timed_routes(real, texts[:5], False, "")
            # side by side: route a fresh text (embeds it), then embed another fresh text alone
            lat, embed_only = [], []
            for text in tqdm(texts[5:], desc=f"route N={n} (MiniLM, fresh text)", unit="route",
                             disable=not progress, leave=False):
                lat.extend(timed_routes(real, [text], False, ""))
                t0 = time.perf_counter()
                minilm.embed([text + " again"])
                embed_only.append((time.perf_counter() - t0) * 1e3)
            result["route_including_embedding"] = percentiles(lat)
            result["minilm_embedding_only"] = percentiles(embed_only)
            result["rss_mb_with_minilm"] = rss_mb()
            real.close()
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--routes", type=int, default=300, help="timed routes per size (cached)")
    parser.add_argument("--fresh", type=int, default=100, help="timed routes with MiniLM (0 = skip)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    results = {"machine": machine(), "sizes": []}
    spawn = multiprocessing.get_context("spawn")
    for n in args.sizes:
        # a fresh process per size: RSS and caches of one size do not leak into the next
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            res = pool.submit(bench_size, n, args.routes, args.fresh, not args.quiet,
                              args.batch_size).result()
        results["sizes"].append(res)
        ex, ing = res["route_excluding_embedding"], res["ingest"]
        line = (f"N={n:>7}: ingest {ing['comparisons_per_s']:,.0f} comparisons/s; route (cached emb) "
                f"p50 {ex['p50_ms']:.2f} ms p99 {ex['p99_ms']:.2f} ms")
        if "route_including_embedding" in res:
            inc = res["route_including_embedding"]
            line += (f"; route (MiniLM) p50 {inc['p50_ms']:.1f} ms p99 {inc['p99_ms']:.1f} ms "
                     f"(embedding alone p50 {res['minilm_embedding_only']['p50_ms']:.1f} ms)")
        line += f"; reopen {res['reopen_replay_s']:.1f} s; RSS {res['rss_mb_after_ingest']:.0f} MB"
        print(line, flush=True)
    write_json(Path(args.out) / "core.json", results)
    print(f"wrote {Path(args.out) / 'core.json'}")
    return results


if __name__ == "__main__":
    main()
