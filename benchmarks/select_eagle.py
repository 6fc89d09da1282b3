"""Choose ``EagleConfig()``'s defaults on validation folds of the *training* data (never test).

Why a second selection round: the earlier defaults (P=0.5, N=40, local K=8) won a grid on the same
10 validation folds they were then reported on (``tune_eagle.py``, fold seeds 100..109). On 30
*fresh* folds (seeds 700..729) that lead disappears -- the winner's curse of picking the best of
many noisy candidates -- so the choice is made again here, on fresh folds and on more settings:

* ``routerbench``, ``arena_bench``, ``routellm`` (capped at 2000 prompts per sub-dataset): the
  protocol's per-sub-dataset routers, each sub-dataset's seed-42 *training* rows cut into random
  80/20 folds;
* ``routerbench_pooled``: one router over all three RouterBench sub-datasets' training rows
  together, i.e. mixed traffic as a deployment sees it (where the local ratings have most to say).

Rule fixed before the run: score = the sum over the four settings of the mean validation AUC gain
over ``single``; the highest score among *eligible* configs wins. Eligible = ``n_neighbors`` <=
``MAX_NEIGHBORS``: N=160 routes at 3.09 ms p50 with 100k stored queries (N=80: 2.26 ms, N=40:
1.94 ms, measured side by side), over the engine's 3 ms budget (docs/BENCHMARKS.md "Core engine").

Uses the numpy twin of the engine (unit-tested equal to it); ~10 minutes on two cores.

    .venv/bin/python benchmarks/select_eagle.py --out bench-out/select-eagle
    .venv/bin/python benchmarks/select_eagle.py --folds 5 --out /tmp/quick   # a quick look
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eagle_core import EagleConfig
from eagle_core.datasets import load_dataset
from eagle_core.evaluation import CachedEmbedder
from eagle_core.evaluation._eagle_numpy import NumpyEagleRouter
from eagle_core.evaluation._eagle_router import _numpy_params as params_of
from eagle_core.evaluation._protocol import BASELINES, evaluate_subset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_eagle import folds  # noqa: E402

FOLD_SEED = 700  # fresh: the earlier round used 100..109
MAX_NEIGHBORS = 80
SETTINGS = {  # name: (dataset, prompts per sub-dataset, pooled, folds)
    "routerbench": ("routerbench", None, False, 30),
    "arena_bench": ("arena_bench", None, False, 30),
    "routellm": ("routellm", 2000, False, 10),
    "routerbench_pooled": ("routerbench", None, True, 10),
}


def candidates() -> dict[str, EagleConfig]:
    """The previous defaults, global-only (P=1) and P x N x local K around them."""
    named = {
        "previous (P0.5 N40 k8)": EagleConfig(p=0.5, n_neighbors=40, k=8.0),
        "global only (P1)": EagleConfig(p=1.0),
    }
    for p, n, k in itertools.product((0.6, 0.7, 0.8, 0.9), (40, 80, 160), (2.0, 4.0, 8.0)):
        named[f"P{p} N{n} k{k:g}"] = EagleConfig(p=p, n_neighbors=n, k=k)
    return named


def routers(configs: dict[str, EagleConfig]) -> dict[str, Callable[[], object]]:
    out: dict[str, Callable[[], object]] = {
        name: (lambda c=cfg, name=name: NumpyEagleRouter(params_of(c), name)) for name, cfg in configs.items()
    }
    out["single"] = BASELINES["single"]
    return out


def fold_gains(setting: str, n_folds: int, configs: dict[str, EagleConfig]) -> dict[str, list[float]]:
    """Per config, the validation AUC gain over ``single`` in each fold (summed over sub-datasets)."""
    data, limit, pooled, default_folds = SETTINGS[setting]
    n_folds = n_folds or default_folds
    ds = load_dataset(data).sample_per_subset(limit)
    X = CachedEmbedder(progress=True)(list(ds.prompts))
    train, _test = ds.split()  # the test rows are never touched
    groups = {"pooled": train} if pooled else {
        sub: np.intersect1d(train, ds.subset_indices(sub)) for sub in ds.subset_names
    }
    gains = {name: [0.0] * n_folds for name in configs}
    for group, rows in groups.items():
        for f, (fit_rows, val_rows) in enumerate(folds(rows, n_folds, base=FOLD_SEED)):
            auc = evaluate_subset(group, ds, X, fit_rows, val_rows, routers(configs)).auc()
            for name in configs:
                gains[name][f] += auc[name] - auc["single"]
    return gains


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folds", type=int, default=0,
                        help="folds per setting (0 = 30, or 10 for routellm and the pooled setting)")
    parser.add_argument("--out", default="bench-out/select-eagle")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    started = time.perf_counter()
    configs = candidates()
    gains = {setting: fold_gains(setting, args.folds, configs) for setting in SETTINGS}
    score = {name: sum(float(np.mean(gains[s][name])) for s in SETTINGS) for name in configs}
    eligible = [n for n in configs if configs[n].n_neighbors <= MAX_NEIGHBORS]
    winner = max(eligible, key=score.__getitem__)
    print("validation AUC gain over single (mean ± s.e. over folds); "
          f"winner among N <= {MAX_NEIGHBORS}: {winner}")
    print(f"{'config':<24} {'score':>7} " + " ".join(f"{s:>20}" for s in SETTINGS))
    for name in sorted(configs, key=lambda n: -score[n]):
        cells = []
        for s in SETTINGS:
            g = np.asarray(gains[s][name])
            cells.append(f"{g.mean():+.3f} ± {g.std(ddof=1) / np.sqrt(len(g)):.3f}".rjust(20))
        flag = "" if name in eligible else "  (over latency budget)"
        print(f"{name:<24} {score[name]:+7.3f} " + " ".join(cells) + flag)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "select_eagle.json").write_text(json.dumps({
        "winner": winner, "winner_config": configs[winner].to_dict(), "score": score, "fold_gains": gains,
        "fold_seed": FOLD_SEED, "max_neighbors": MAX_NEIGHBORS, "seconds": time.perf_counter() - started,
    }, indent=1))
    print(f"({time.perf_counter() - started:.0f} s; wrote {out / 'select_eagle.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
