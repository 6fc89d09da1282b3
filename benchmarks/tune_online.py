"""Choose the online settings of EagleConfig on validation streams (never the test split).

Streams are built from the *training* 70% of each dataset (``RoutingDataset.split(42)``; the
replay's own reports may use every prompt, the choice here saw only training prompts). Every
candidate is replayed through the in-memory twin (``EagleOnlineRouter``: the engine's fold and
routing step) in the scenarios of ``eagle replay`` and scored by the mean over scenarios of the
best-fixed->oracle headroom captured (each cell's cumulative regret is printed and saved too).

    python benchmarks/tune_online.py --length 1000 --seeds 3 --out bench-out/tune-online
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
from pathlib import Path

import numpy as np

from eagle_core import EagleConfig
from eagle_core.datasets import load_dataset
from eagle_core.evaluation._cache import BACKENDS, bundled_embedder
from eagle_core.replay import EagleOnlineRouter, run_replay

logger = logging.getLogger(__name__)

GRID = {
    "explore_scale": [0.3, 0.5, 1.0],
    "rd_local": [50.0, 100.0, 200.0],
    "max_explore_share": [0.2, 0.35, 0.5],
    "half_life": [300.0, 1000.0],
}


def validation_data(root: Path, names: list[str], embedder: str = "torch") -> list:
    emb = bundled_embedder(embedder, progress=False)
    out = []
    for name in names:
        ds = load_dataset(root / name)
        train, _ = ds.split(42)
        ds = ds.select(train)
        out.append((ds, emb(list(ds.prompts))))
    return out


def _value(key: str, text: str) -> object:
    """A --grid value in the type of the EagleConfig field (``None``; ``True``/``False`` for flags)."""
    default = getattr(EagleConfig(), key)
    if text == "None":
        return None
    if isinstance(default, bool):
        if text not in ("True", "False"):
            raise SystemExit(f"{key} takes True or False, got {text!r}")
        return text == "True"
    return (float if default is None else type(default))(text)  # None-valued settings are floats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--datasets", nargs="+", default=["routerbench", "arena_bench"])
    ap.add_argument("--scenarios", nargs="+", default=["cold", "warm", "sparse", "drift", "newcomer",
                                                        "budget"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--length", type=int, default=1000)
    ap.add_argument("--grid", nargs="*", default=None,
                    help="candidates as key=value,key=value (default: the product of GRID)")
    ap.add_argument("--embedder", choices=BACKENDS, default="torch",
                    help="the bundled MiniLM's backend for the prompts' vectors (onnx-int8: its int8 copy)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/tune-online"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = validation_data(args.data, args.datasets, args.embedder)
    if args.grid:
        candidates = [dict(kv.split("=") for kv in spec.split(",")) for spec in args.grid]
        candidates = [{k: _value(k, v) for k, v in c.items()} for c in candidates]
    else:
        candidates = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for cand in candidates:
        cfg = EagleConfig().replace(**cand)
        routers = {"eagle_online": lambda ctx, cfg=cfg: EagleOnlineRouter(cfg)}
        res = run_replay(data, scenarios=args.scenarios, seeds=args.seeds, routers=routers,
                         length=args.length, progress=False)
        per, budget, regret = {}, {}, {}
        for ds_name, entry in res["datasets"].items():
            for sc, block in entry["scenarios"].items():
                stats = block["routers"]["eagle_online"]
                per[f"{ds_name}/{sc}"] = stats["headroom"]["mean"]
                if sc == "budget":  # grade vs the best affordable single model, and overshoot
                    ref = block["references"]
                    budget[ds_name] = (f"grade {stats['grade']['mean']:.3f}±{stats['grade']['se']:.3f} "
                                       f"(best affordable {ref['fixed_grade']['mean']:.3f}) overshoot "
                                       f"{100 * stats['overshoot']['mean']:.2f}±"
                                       f"{100 * stats['overshoot']['se']:.2f}% spent "
                                       f"{stats['cost']['mean'] / ref['target_cost']['mean']:.3f}")
                regret[f"{ds_name}/{sc}"] = (stats["regret"]["mean"], stats["regret"]["se"])
        score = float(np.mean(list(per.values())))
        rows.append({"config": cand, "score": score, "per": per, "budget": budget, "regret": regret})
        print(f"{score:+.3f} {cand} " + " ".join(f"{k}={v:+.2f}" for k, v in per.items()), flush=True)
        print("  regret " + " ".join(f"{k}={m:.2f}±{e:.2f}" for k, (m, e) in regret.items()), flush=True)
        for ds_name, line in budget.items():
            print(f"    budget {ds_name}: {line}", flush=True)
    rows.sort(key=lambda r: -r["score"])
    (args.out / "tune_online.json").write_text(json.dumps(rows, indent=1))
    print("best:", rows[0]["config"], f"{rows[0]['score']:+.3f}")


if __name__ == "__main__":
    main()
