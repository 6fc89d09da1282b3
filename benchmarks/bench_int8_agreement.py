"""How far are the int8 MiniLM's vectors (``embedder="onnx-int8"``) from the default's, and does it
change which stored prompts are a query's neighbours?

    python benchmarks/bench_int8_agreement.py --data $EAGLE_DATA_DIR

Embeds real prompts (all of arena_bench's, a seeded sample of RouterBench's) with the default
embedder (sentence-transformers on torch) and with ``OnnxMiniLMEmbedder(quantize=True)`` (one text
per pass, as it always runs) and reports per dataset: the largest coordinate difference, the
cosine between the two vectors of a prompt (min, 1st percentile, median), and for a seeded 20 % of
the prompts as queries against the other 80 % as the store, the share of a query's exact top-k
cosine neighbours (k = 10 and the engine's ``n_neighbors``) that stay the same when (a) store and
queries are both int8 (a store built with ``onnx-int8``) and (b) the store holds the torch vectors
and the queries are int8 (a float store reopened with ``onnx-int8``). Writes JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, write_json  # noqa: E402


def _overlap(store: np.ndarray, queries: np.ndarray, ref_store: np.ndarray, ref_queries: np.ndarray,
             k: int) -> float:
    """Mean share of the reference top-k neighbours (exact cosine) that the other vectors also find."""
    k = min(k, len(store))
    found = np.argsort(-queries @ store.T, axis=1)[:, :k]
    ref = np.argsort(-ref_queries @ ref_store.T, axis=1)[:, :k]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, ref, strict=True)]))


def compare(torch_vecs: np.ndarray, int8_vecs: np.ndarray, ks: tuple[int, ...]) -> dict[str, Any]:
    cos = (torch_vecs * int8_vecs).sum(axis=1)
    rng = np.random.default_rng(0)
    is_query = np.zeros(len(cos), dtype=bool)
    is_query[rng.permutation(len(cos))[: len(cos) // 5]] = True
    t_store, t_query = torch_vecs[~is_query], torch_vecs[is_query]
    i_store, i_query = int8_vecs[~is_query], int8_vecs[is_query]
    return {"n": len(cos), "max_abs_diff": float(np.abs(torch_vecs - int8_vecs).max()),
            "cosine_min": float(cos.min()), "cosine_p1": float(np.percentile(cos, 1)),
            "cosine_median": float(np.median(cos)),
            "overlap_int8_store": {k: _overlap(i_store, i_query, t_store, t_query, k) for k in ks},
            "overlap_torch_store_int8_queries": {k: _overlap(t_store, i_query, t_store, t_query, k)
                                                 for k in ks}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("EAGLE_DATA_DIR", REPO.parent / "shared" / "data")))
    ap.add_argument("--datasets", nargs="+", default=["arena_bench", "routerbench"])
    ap.add_argument("--prompts", type=int, default=1000, help="at most this many prompts per dataset")
    ap.add_argument("--onnx-cache", type=Path, default=None,
                    help="EAGLE_CACHE_DIR for the graphs (default: a fresh temporary folder)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/int8_agreement"))
    args = ap.parse_args()
    from eagle_core import EagleConfig, OnnxMiniLMEmbedder, SentenceTransformerEmbedder
    from eagle_core.datasets import load_dataset

    cache = args.onnx_cache or Path(tempfile.mkdtemp(prefix="eagle-onnx-cache-"))
    ref, int8 = SentenceTransformerEmbedder(), OnnxMiniLMEmbedder(cache_dir=cache, quantize=True)
    ks = (10, EagleConfig().n_neighbors)
    info, results = machine(), {}
    for name in args.datasets:
        ds = load_dataset(args.data / name)
        rows = np.random.default_rng(0).permutation(len(ds))[: args.prompts]
        prompts = [ds.prompts[i] for i in rows]
        results[name] = compare(ref.embed(prompts), int8.embed(prompts), ks)
        r = results[name]
        print(f"{name}: {r['n']} prompts, max |diff| {r['max_abs_diff']:.4f}, cosine min "
              f"{r['cosine_min']:.4f} p1 {r['cosine_p1']:.4f} median {r['cosine_median']:.4f}; "
              f"top-k neighbours kept, int8 store: "
              + ", ".join(f"k={k} {v:.3f}" for k, v in r["overlap_int8_store"].items())
              + "; torch store + int8 queries: "
              + ", ".join(f"k={k} {v:.3f}" for k, v in r["overlap_torch_store_int8_queries"].items()))
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "int8_agreement.json", {"machine": info, "results": results,
                                                  "graph": str(int8.graph_path_)})
    print(f"wrote {args.out / 'int8_agreement.json'}")


if __name__ == "__main__":
    main()
