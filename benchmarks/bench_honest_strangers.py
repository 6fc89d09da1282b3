"""Feedback from strangers (issue 15): how fast the online algorithm learns when honest feedback
comes from many sources, with the per-source defence on and off.

The online replay (``eagle replay``) feeds every rating as the operator's (``source=None``), which
the defence never limits. Here the same streams are replayed through the engine's in-memory twin
(:class:`~eagle_core.replay.EagleOnlineRouter`: the engine's fold and routing step), but each
feedback event carries a user id drawn from ``--users`` honest users with Zipf weights
(P(user u) ~ 1/(u+1): a few heavy users, many light ones). Reported per scenario: the share of the
best-fixed -> oracle utility headroom captured (mean +- s.e. over seeds), for

* ``operator``: every rating trusted (``source=None``; the replay's own setting);
* ``users-<U>/defence-on``: ratings from U users, the defence on (the default);
* ``users-<U>/defence-off``: the same with ``source_defence=False``.

Usage::

    python benchmarks/bench_honest_strangers.py [--data DIR] [--users 30 300] [--seeds 3]
        [--length 1000] [--scenarios cold sparse drift] [--out bench-out]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_or_exit, machine, write_json  # noqa: E402

from eagle_core import EagleConfig  # noqa: E402
from eagle_core._store import Event  # noqa: E402
from eagle_core.replay import EagleOnlineRouter, run_replay  # noqa: E402


class UsersRouter(EagleOnlineRouter):
    """The twin with every feedback event tagged with a Zipf-drawn user id (``source=``)."""

    def __init__(self, users: int, config: EagleConfig, name: str) -> None:
        super().__init__(config, name=name)
        self.users = users

    def start(self, models, costs, *, wtp, target_cost, seed) -> None:  # type: ignore[override]
        p = 1.0 / np.arange(1, self.users + 1)
        self._p = p / p.sum()
        self._rng = np.random.default_rng((seed, self.users))
        super().start(models, costs, wtp=wtp, target_cost=target_cost, seed=seed)

    def _commit(self, kind: str, key: str, pairs, payload: dict) -> None:
        """The twin's commit with the event's ``source`` set (feedback events only)."""
        self._n_seq += 1
        source = None
        if kind in ("thumbs", "comparison", "scores"):
            source = f"user-{int(self._rng.choice(self.users, p=self._p))}"
        self._state.apply(Event(id=str(self._n_seq), ts=self._n_seq, writer="replay", seq=self._n_seq,
                                kind=kind, qkey=key, pairs=pairs, payload=payload, source=source))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data root holding routerbench/")
    parser.add_argument("--dataset", default="routerbench")
    parser.add_argument("--users", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--scenarios", nargs="+", default=["cold", "sparse", "drift"])
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from eagle_core.evaluation import CachedEmbedder

    ds = load_or_exit(args.dataset, args.data, "bench_honest_strangers")
    X = CachedEmbedder(progress=not args.quiet)(list(ds.prompts))
    on, off = EagleConfig(), EagleConfig(source_defence=False)
    routers: dict[str, Any] = {"operator": lambda ctx: EagleOnlineRouter(on, name="operator")}
    for u in args.users:
        routers[f"users-{u}/defence-on"] = lambda ctx, u=u: UsersRouter(u, on, f"users-{u}/defence-on")
        routers[f"users-{u}/defence-off"] = lambda ctx, u=u: UsersRouter(u, off, f"users-{u}/defence-off")
    t0 = time.perf_counter()
    res = run_replay([(ds, X)], scenarios=args.scenarios, seeds=args.seeds, routers=routers,
                     length=args.length, progress=not args.quiet)
    table: dict[str, dict[str, dict[str, float]]] = {}
    entry = res["datasets"][ds.name]
    for sc, block in entry["scenarios"].items():
        table[sc] = {r: {"headroom": s["headroom"]["mean"], "headroom_se": s["headroom"]["se"],
                         "grade": s["grade"]["mean"]}
                     for r, s in block["routers"].items()}
    result = {"machine": machine(), "command": " ".join(["python", *sys.argv]), "dataset": ds.name,
              "seeds": args.seeds, "length": args.length, "users": args.users,
              "config_on": dataclasses.asdict(on), "headroom": table,
              "seconds": round(time.perf_counter() - t0, 1)}
    print(f"{ds.name}: headroom captured (best fixed -> oracle), mean +- s.e. over {args.seeds} seeds, "
          f"{args.length} steps")
    names = list(routers)
    print(f"{'scenario':<10} " + " ".join(f"{n:>22}" for n in names))
    for sc, row in table.items():
        print(f"{sc:<10} " + " ".join(f"{row[n]['headroom']:>+15.3f} ±{row[n]['headroom_se']:.3f}"
                                      for n in names))
    write_json(Path(args.out) / "honest_strangers.json", result)
    print(f"wrote {Path(args.out) / 'honest_strangers.json'}")
    return result


if __name__ == "__main__":
    main()
