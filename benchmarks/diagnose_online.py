"""Where Eagle's online regret comes from, on validation streams (never the test split).

Replays the in-memory twin (``EagleOnlineRouter``) over streams built from the *training* 70 % of a
dataset (``RoutingDataset.split(42)``, as ``tune_online.py`` does) and splits its cumulative regret
against the oracle into the best fixed model's regret, the **greedy deficit** (the ranking's choice
vs the best fixed model, on every route) and the **exploration cost** (the ranking's choice vs the
model served, on explored routes), per third of the stream. Per model it prints the true mean grade,
cost and utility (grade * wtp - cost) over the stream, the grade routing predicts at the stream's end
(``normalization="expected"`` of the global rating as routing reads it, the population prior
included), its deviation, the ranking's traffic share per third and the routes explored to it::

    python benchmarks/diagnose_online.py --dataset arena_bench --scenario cold --seeds 8
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from tune_online import _value, validation_data

from eagle_core import EagleConfig
from eagle_core._elo import expected_score
from eagle_core._serving import global_scores
from eagle_core.replay import EagleOnlineRouter
from eagle_core.replay._harness import replay
from eagle_core.replay._run import auto_wtp
from eagle_core.replay._scenarios import SCENARIOS, prepare, utility_matrix
from eagle_core.replay._stream import build_stream


class _Recording(EagleOnlineRouter):
    """The twin, remembering per route the ranking's choice and whether the route was explored."""

    def start(self, *args, **kwargs) -> None:
        super().start(*args, **kwargs)
        self.greedy: list[str] = []
        self.explored: list[bool] = []

    def choose(self, x: np.ndarray, text: str) -> int:
        k = super().choose(x, text)
        self.greedy.append(self.last_decision.ranking[0].model)
        self.explored.append(self.last_decision.explored)
        return k


def _run(ds, X, scenario: str, seed: int, config: EagleConfig, wtp: float) -> dict:
    prep = prepare(build_stream(ds, X, seed=seed, length=951), SCENARIOS[scenario], wtp=wtp)
    router = _Recording(config)
    trace = replay(router, prep, seed=seed)
    s = prep.stream
    u = utility_matrix(s.grades, s.costs, wtp)
    rows = np.arange(len(s))
    col = {m: j for j, m in enumerate(s.models)}
    greedy = np.array([col[m] for m in router.greedy])
    explored = np.array(router.explored)
    served, ranked = u[rows, trace.chosen], u[rows, greedy]
    fixed = int(u.mean(axis=0).argmax())
    thirds = np.array_split(rows, 3)
    view = router.state.view()
    ratings, rd2 = global_scores(view, router._cfg)
    par = router._cfg.initial_rating
    per_model = {m: (s.grades[:, j].mean(), s.costs[:, j].mean(), u[:, j].mean(),
                     expected_score(ratings[m], par), math.sqrt(rd2[m]),
                     *[(greedy[t] == j).mean() for t in thirds],
                     *[((trace.chosen[t] == j) & explored[t]).sum() for t in thirds])
                 for m, j in col.items() if m in ratings}
    return {
        "regret": [(u.max(axis=1) - served)[t].sum() for t in thirds],
        "fixed": [(u.max(axis=1) - u[:, fixed])[t].sum() for t in thirds],
        "deficit": [(u[t, fixed] - ranked[t]).sum() for t in thirds],
        "explore_cost": [((ranked - served) * explored)[t].sum() for t in thirds],
        "n_explored": [explored[t].sum() for t in thirds],
        "models": per_model,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--dataset", default="arena_bench")
    ap.add_argument("--scenario", default="cold", choices=[s for s in SCENARIOS if s != "budget"])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--set", nargs="*", default=[], help="EagleConfig overrides as key=value")
    args = ap.parse_args()
    config = EagleConfig().replace(**{k: _value(k, v) for k, v in (kv.split("=") for kv in args.set)})
    (ds, X), = validation_data(args.data, [args.dataset])
    wtp = auto_wtp(ds)
    runs = [_run(ds, X, args.scenario, seed, config, wtp) for seed in range(args.seeds)]
    print(f"{args.dataset} {args.scenario}, {len(ds)} training prompts, wtp {wtp:.4g}, {args.seeds} seeds")
    for key in ("regret", "fixed", "deficit", "explore_cost", "n_explored"):
        per = np.mean([r[key] for r in runs], axis=0)
        print(f"  {key:13s} total {per.sum():6.2f}   per third " + " ".join(f"{v:6.2f}" for v in per))
    print(f"\n  {'model':38s} grade  cost     utility q_pred  RD   ranking share/third  explored/third")
    names = runs[0]["models"]
    rows = {m: np.mean([r["models"][m] for r in runs], axis=0) for m in names}
    for m, v in sorted(rows.items(), key=lambda kv: -kv[1][2]):
        print(f"  {m[:38]:38s} {v[0]:.3f} {v[1]:.5f} {v[2]:+.4f} {v[3]:.3f} {v[4]:4.0f}  "
              f"{v[5]:.2f} {v[6]:.2f} {v[7]:.2f}       {v[8]:.1f} {v[9]:.1f} {v[10]:.1f}")


if __name__ == "__main__":
    main()
