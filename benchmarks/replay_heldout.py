"""The online replay on held-out streams (issue 13's protocol), and a side-by-side table of runs.

RouterBench streams use only the test 30 % of ``split(42)`` (the tuning scripts never see it);
arena_bench has too few prompts for a split, so its streams use all 275. Every router runs on the
same MiniLM embeddings and the same streams per seed, so runs of different routers (e.g. the
deterministic baselines once, Eagle's routers after each change) can be compared cell by cell::

    python benchmarks/replay_heldout.py run --seeds 10 --out bench-out/heldout/baselines \
        --routers linucb thompson paretobandit random
    python benchmarks/replay_heldout.py run --seeds 10 --out bench-out/heldout/eagle \
        --routers eagle_online eagle_greedy eagle_full
    python benchmarks/replay_heldout.py table bench-out/heldout/*/results.json

``table`` prints, per dataset and scenario, each router's cumulative regret against the oracle
(mean ± s.e. over seeds), marks ``eagle_online`` in bold where it is below every bandit baseline
(LinUCB, Thompson, ParetoBandit), and counts those cells.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

BANDITS = ("linucb", "thompson", "paretobandit")


def run(args: argparse.Namespace) -> None:
    from eagle_core.datasets import load_dataset
    from eagle_core.evaluation import CachedEmbedder
    from eagle_core.replay import run_replay
    from eagle_core.replay._report import write_results

    emb = CachedEmbedder(progress=False)
    rb = load_dataset(args.data / "routerbench")
    rb = rb.select(rb.split(42)[1])
    ab = load_dataset(args.data / "arena_bench")
    data = [(d, emb(list(d.prompts))) for d in (rb, ab)]
    results = run_replay(data, seeds=args.seeds, routers=args.routers)
    for path in write_results(results, args.out):
        print(path)


def _cells(paths: list[Path]) -> dict[tuple[str, str], dict[str, dict]]:
    cells: dict[tuple[str, str], dict[str, dict]] = {}
    for path in paths:
        results = json.loads(path.read_text())
        for ds, entry in results["datasets"].items():
            for sc, block in entry["scenarios"].items():
                for router, stats in block["routers"].items():
                    cells.setdefault((ds, sc), {})[router] = stats
    return cells


def table(args: argparse.Namespace) -> None:
    cells = _cells(args.results)
    routers = list(dict.fromkeys(r for cell in cells.values() for r in cell))
    print("| dataset | scenario | " + " | ".join(f"`{r}`" for r in routers) + " |")
    print("|---|---|" + "---|" * len(routers))
    wins = 0
    for (ds, sc), cell in cells.items():
        best_bandit = min((cell[b]["regret"]["mean"] for b in BANDITS if b in cell), default=None)
        row = []
        for r in routers:
            stats = cell.get(r)
            if stats is None:
                row.append("")
                continue
            reg, head = stats["regret"], stats["headroom"]
            text = f"{reg['mean']:.2f} ± {reg['se']:.2f} ({head['mean']:+.2f})"
            if r == "eagle_online" and best_bandit is not None and reg["mean"] < best_bandit:
                text, wins = f"**{text}**", wins + 1
            row.append(text)
        print(f"| {ds} | {sc} | " + " | ".join(row) + " |")
    print(f"\neagle_online below every bandit baseline in {wins} of {len(cells)} cells")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="replay the held-out streams")
    r.add_argument("--data", type=Path, default=Path(os.environ.get("EAGLE_DATA_DIR", "../shared/data")))
    r.add_argument("--seeds", type=int, default=10)
    r.add_argument("--routers", nargs="+", required=True)
    r.add_argument("--out", type=Path, required=True)
    r.set_defaults(func=run)
    t = sub.add_parser("table", help="side-by-side regret table of results.json files")
    t.add_argument("results", nargs="+", type=Path)
    t.set_defaults(func=table)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
