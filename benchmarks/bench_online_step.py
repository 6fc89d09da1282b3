"""Latency of one online step through the real engine: route (MiniLM embedding + Chroma neighbour
search + ratings + exploration) then record_feedback(score=) on the served answer.

    python benchmarks/bench_online_step.py --steps 300 --warm 200

Prompts are RouterBench's (distinct texts, so every route embeds); the grade is the dataset's.
Reports p50/p90 of route, feedback and the whole step, after ``--warm`` steps of history.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from eagle_core import Eagle, EagleConfig
from eagle_core.datasets import load_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/routerbench"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warm", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset(args.data)
    cost = ds.mean_costs()
    cols = np.flatnonzero(~np.isnan(cost))
    models = {ds.models[c]: float(cost[c]) for c in cols}
    order = np.random.default_rng(0).permutation(len(ds))[: args.warm + args.steps]
    eagle = Eagle(models, config=EagleConfig(seed=0)).open()
    wtp = 4 * max(models.values())
    times = {"route": [], "feedback": [], "step": []}
    for i, row in enumerate(order):
        text = ds.prompts[row]
        t0 = time.perf_counter()
        d = eagle.route(text, willingness_to_pay=wtp)
        t1 = time.perf_counter()
        grade = float(ds.scores[row, list(ds.models).index(d.model)])
        eagle.record_feedback(d.decision_id, score=grade)
        t2 = time.perf_counter()
        if i >= args.warm:
            times["route"].append(t1 - t0)
            times["feedback"].append(t2 - t1)
            times["step"].append(t2 - t0)
    for name, values in times.items():
        ms = 1e3 * np.array(values)
        print(f"{name:9s} p50 {np.median(ms):6.1f} ms  p90 {np.percentile(ms, 90):6.1f} ms")


if __name__ == "__main__":
    main()
