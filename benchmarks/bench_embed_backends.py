"""Would another backend embed one prompt faster with the same MiniLM weights and the same vectors?

    python benchmarks/bench_embed_backends.py --data $EAGLE_DATA_DIR

Times the engine's embedder (sentence-transformers on torch, as ``Eagle`` uses it) with 2 and 1
torch threads against ONNX Runtime (installed with chromadb) running the same weights exported
from the loaded model (mean pooling and normalisation in the graph; same tokenizer, left
truncation at 256 tokens), with 2 and 1 intra-op threads. One prompt at a time, as a route embeds,
round-robin over the backends so they share the machine's load; arena_bench's chat prompts and
RouterBench's long few-shot prompts. Reports p50 per backend, each backend's largest deviation from
the torch vectors, and the one-off costs (loading MiniLM, the export, the ORT session). The export
needs the ``onnx`` package (the ``eagle-router[onnx]`` extra; it uses the library's own export, as
``embedder="onnx"`` does); without it only torch is timed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, write_json  # noqa: E402

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("EAGLE_DATA_DIR", REPO.parent / "shared" / "data")))
    ap.add_argument("--datasets", nargs="+", default=["arena_bench", "routerbench"])
    ap.add_argument("--prompts", type=int, default=60, help="prompts per dataset")
    ap.add_argument("--out", type=Path, default=Path("bench-out/embed_backends"))
    args = ap.parse_args()
    import torch
    from tqdm import tqdm

    from eagle_core import SentenceTransformerEmbedder
    from eagle_core.datasets import load_dataset

    default_threads = torch.get_num_threads()
    embedder = SentenceTransformerEmbedder()
    t0 = time.perf_counter()
    model = embedder._load()
    one_off = {"load MiniLM (torch) s": time.perf_counter() - t0}
    tok = model.tokenizer

    def on_torch(threads: int) -> Callable[[str], np.ndarray]:
        def run(text: str) -> np.ndarray:
            torch.set_num_threads(threads)
            return embedder.embed([text])
        return run

    backends: dict[str, Callable[[str], np.ndarray]] = {
        f"torch {t} thr": on_torch(t) for t in sorted({default_threads, 1}, reverse=True)}
    try:
        import onnx  # noqa: F401
        import onnxruntime as ort
    except ImportError as exc:
        print(f"ONNX Runtime not timed: {exc} (pip install onnx to export)")
    else:
        from eagle_core._embeddings import bundled_model_path
        from eagle_core._onnx_embedder import _export

        path = Path(tempfile.mkdtemp()) / "minilm.onnx"
        t0 = time.perf_counter()
        _export(Path(bundled_model_path()), path)  # the library's export (embedder="onnx")
        one_off["export to ONNX s"] = time.perf_counter() - t0
        for threads in sorted({default_threads, 1}, reverse=True):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
            t0 = time.perf_counter()
            sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            one_off[f"ORT session ({threads} thr) s"] = time.perf_counter() - t0

            def run(text: str, sess: ort.InferenceSession = sess) -> np.ndarray:
                enc = tok([text], truncation=True, max_length=model.max_seq_length,
                          return_tensors="np")
                return sess.run(None, {k: enc[k].astype(np.int64) for k in INPUTS})[0]

            backends[f"ORT {threads} thr"] = run
    results: dict[str, dict[str, dict[str, float]]] = {}
    info = machine()
    for name in args.datasets:
        ds = load_dataset(args.data / name)
        rows = np.random.default_rng(1).permutation(len(ds))[: args.prompts]
        times: dict[str, list[float]] = {b: [] for b in backends}
        worst: dict[str, float] = dict.fromkeys(backends, 0.0)
        for row in tqdm(rows, desc=name, unit="prompt"):
            text = ds.prompts[row]
            reference = None
            for b, fn in backends.items():
                t0 = time.perf_counter()
                vec = fn(text)
                times[b].append(1e3 * (time.perf_counter() - t0))
                reference = vec if reference is None else reference
                worst[b] = max(worst[b], float(np.abs(vec - reference).max()))
        results[name] = {b: {"p50_ms": float(np.median(times[b])),
                             "p90_ms": float(np.percentile(times[b], 90)),
                             "max_abs_diff_vs_torch": worst[b]} for b in backends}
    torch.set_num_threads(default_threads)
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average at start {info['loadavg_at_start']}, at end {info['loadavg_at_end']}")
    for name, by in results.items():
        print(f"\n{name}: p50 ms per prompt (p90), largest |difference| from the torch vector")
        for b, r in by.items():
            print(f"  {b:12s} {r['p50_ms']:8.2f} ({r['p90_ms']:7.2f})   {r['max_abs_diff_vs_torch']:.1e}")
    print("\none-off costs: " + ", ".join(f"{k} {v:.2f}" for k, v in one_off.items()))
    write_json(args.out / "embed_backends.json", {"machine": info, "one_off_s": one_off,
                                                  "results": results})


if __name__ == "__main__":
    main()
