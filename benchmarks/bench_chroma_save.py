"""Why a single log write grew (issue 15): raw chromadb, one-record upserts, by Chroma's save cycle.

A local Chroma saves a collection's vector index every ``sync_threshold`` records and, before every
write, re-reads the records queued since the last save. This script fills a persistent collection
shaped like the feedback log (2-d vectors, a ``ts`` and a ~400-byte JSON field per record) with
``--size`` records, then times ``--writes`` single-record upserts, once per ``sync_threshold`` in
``--thresholds``; it reports the p50 by how many records were queued since the last save (bins of a
tenth of the threshold) and the overall p50 / mean / p99. No eagle_core code is involved.

Usage: ``python benchmarks/bench_chroma_save.py [--size 100000] [--thresholds 1000 100]
[--writes 1000] [--dir /dev/shm] [--out bench-out]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine, percentiles, write_json
from tqdm.auto import tqdm

_EVENT = json.dumps({"writer": "0123456789ab", "seq": 1, "kind": "scores", "qkey": "0" * 32,
                     "pairs": [["gpt-4o", "claude-3", 1.0, 1.0, False]] * 10, "payload": {},
                     "decision": "", "text": "synthetic query 12345"})


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 2)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def run(threshold: int, size: int, writes: int, folder: str | None, quiet: bool) -> dict:
    import chromadb
    from chromadb.config import Settings

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="eagle-bench-save-", dir=folder) as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=Settings(anonymized_telemetry=False))
        log = client.create_collection(
            "log", configuration={"hnsw": {"space": "cosine", "sync_threshold": threshold}},
            embedding_function=None)
        for start in tqdm(range(0, size, 1000), desc=f"fill (sync_threshold={threshold})",
                          disable=quiet, leave=False):
            ids = [f"b-{i}" for i in range(start, min(size, start + 1000))]
            log.upsert(ids=ids, embeddings=_unit(rng, len(ids)),
                       metadatas=[{"ts": start + k, "event": _EVENT} for k in range(len(ids))])
        since_save = size % threshold  # records queued since the last save when the loop starts
        times, phase = [], []
        for i in tqdm(range(writes), desc="single writes", disable=quiet, leave=False):
            t0 = time.perf_counter()
            log.upsert(ids=[f"w-{i}"], embeddings=_unit(rng, 1),
                       metadatas=[{"ts": size + i, "event": _EVENT}])
            times.append((time.perf_counter() - t0) * 1e3)
            phase.append(since_save)
            since_save = (since_save + 1) % threshold
        del client
    times_a, phase_a = np.asarray(times), np.asarray(phase)
    width = max(1, threshold // 10)
    by_phase = {f"{lo}-{lo + width - 1}": float(np.median(times_a[(phase_a >= lo) & (phase_a < lo + width)]))
                for lo in range(0, threshold, width) if ((phase_a >= lo) & (phase_a < lo + width)).any()}
    return {"sync_threshold": threshold, "size": size, "all": percentiles(times), "p50_by_queued": by_phase}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--thresholds", type=int, nargs="+", default=[1000, 100])
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--dir", default=None, help="where the temp store goes (default: $TMPDIR)")
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    results = {"machine": machine(), "runs": []}
    for threshold in args.thresholds:
        row = run(threshold, args.size, args.writes, args.dir, args.quiet)
        results["runs"].append(row)
        a = row["all"]
        print(f"sync_threshold={threshold} size={args.size}: single upsert p50 {a['p50_ms']:.2f} ms, "
              f"mean {a['mean_ms']:.2f} ms, p99 {a['p99_ms']:.1f} ms; p50 by records queued since "
              "the last save: " + ", ".join(f"{k}: {v:.1f}" for k, v in row["p50_by_queued"].items()),
              flush=True)
    write_json(Path(args.out) / "chroma-save.json", results)
    return results


if __name__ == "__main__":
    main()
