"""Choose the headline setting of `make demo` on validation streams (never the stream it shows).

RouterBench training 70 % (``split(42)``), 1,000-step streams (seeds 100..), 20 warm prompts with
every grade, then only the served answer's grade; the in-memory twin (``EagleOnlineRouter``, the
engine's routing step) with and without exploration. For each willingness to pay (a multiple of the
replay's default) and each budget target (a fraction of the top model's cost), the share of the
best-single-model -> oracle headroom captured (budget: grade vs the best affordable single model).

    PYTHONPATH=. python benchmarks/select_demo.py --data $EAGLE_DATA_DIR [--seeds 4] [--warm 20 50]
        [--settings budget=0.5 wtp=1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from eagle_core.datasets import load_dataset
from eagle_core.evaluation import CachedEmbedder
from eagle_core.replay import (
    EagleOnlineRouter,
    Scenario,
    auto_wtp,
    build_stream,
    prepare,
    references,
    replay,
)

SETTINGS = [("wtp", f) for f in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)] + [("budget", b) for b in (0.125, 0.25, 0.5)]


def headroom(trace, prep, ref) -> float:
    u = trace.grade if prep.wtp is None else trace.grade * prep.wtp - trace.cost
    gap = ref.oracle_utility.mean() - ref.fixed_utility.mean()
    return float((u.mean() - ref.fixed_utility.mean()) / gap)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--length", type=int, default=1000)
    ap.add_argument("--warm", type=int, nargs="+", default=[20])
    ap.add_argument("--settings", nargs="*", default=None,
                    help="kind=value items (wtp=<multiple of the default>, budget=<fraction>)")
    args = ap.parse_args()
    ds = load_dataset(args.data / "routerbench")
    ds = ds.select(ds.split(42)[0])
    X = CachedEmbedder(progress=False)(list(ds.prompts))
    base = auto_wtp(ds)
    settings = SETTINGS if not args.settings else [
        (kv.split("=")[0], float(kv.split("=")[1])) for kv in args.settings]
    for warm, (kind, value) in tqdm([(w, s) for w in args.warm for s in settings], desc="settings"):
        rows = []
        for seed in range(args.seeds):
            stream = build_stream(ds, X, seed=100 + seed, length=args.length)
            scenario = Scenario("demo", warm=warm, budget=value if kind == "budget" else None)
            prep = prepare(stream, scenario, wtp=base * value if kind == "wtp" else None)
            ref = references(prep)
            rows.append([headroom(replay(r, prep, seed=seed), prep, ref)
                         for r in (EagleOnlineRouter(), EagleOnlineRouter(explore=False))])
        mean = np.mean(rows, axis=0)
        se = np.std(rows, axis=0, ddof=1) / np.sqrt(len(rows)) if len(rows) > 1 else np.zeros(2)
        tqdm.write(f"warm {warm} {kind} {value:g}: eagle_online {mean[0]:+.3f} ± {se[0]:.3f}, "
                   f"greedy {mean[1]:+.3f} ± {se[1]:.3f}")


if __name__ == "__main__":
    main()
