"""Run every benchmark (``make bench``) and write the results under ``bench-out/``.

Steps, each in its own process (so RSS and timings do not leak between them):

* ``core``: benchmarks/bench_core.py, 10k and 100k stored queries (issue 2, "Measure");
* ``writes``: benchmarks/bench_writes.py, one ``record_*`` call's latency at 1k, 20k and 100k stored
  events (issue 15);
* ``load``: benchmarks/bench_load.py, 4 processes x 60 s on one ``chroma run`` server (issue 7);
* ``contention``: benchmarks/bench_contention.py, route latency of one engine with 4 router + 4
  writer threads on a ``chroma run`` server (issue 15); ``--compare-tree ../main`` adds another
  code tree side by side;
* ``langchain``: benchmarks/bench_langchain.py, what EagleRouter / EagleDecisionModel add to a chat
  model call and to an agent step, warm (p50 / p99) and cold (issue 14);
* ``calibrate-decision``: benchmarks/calibrate_decision.py, are EagleDecisionModel's Bradley-Terry
  probabilities calibrated (RouterBench validation pairs; needs the data; ~1 min);
* ``consistency`` / ``consistency-recommended``: benchmarks/bench_consistency.py, routing quality of
  the multi-process replay order against arrival-order ELO on RouterBench, with ``EagleConfig()``
  and with the evaluation's validated settings (issue 7; needs the data);
* ``eval``: ``eagle bench`` (the evaluation harness: Eagle-paper protocol and baselines; needs the data);
* ``tune``: benchmarks/tune_eagle.py, the first tuning round (global K, draws, normalisation);
* ``select``: benchmarks/select_eagle.py, the fresh validation folds that chose ``EagleConfig()``'s
  P, N and local K (~10 min);
* ``splits``: benchmarks/split_seeds.py, the protocol re-run on other 70/30 split seeds (read only);
* ``unseen-routerbench`` / ``unseen-arena``: the UniRoute unseen-model evaluation (issue 6);
* ``poison``: benchmarks/bench_poison.py, one source's flood of rigged votes with the per-source
  defence off and on, comparisons and thumbs (issue 15, ~8 min);
* ``honest-strangers``: benchmarks/bench_honest_strangers.py, the online twin with each rating from
  one of 30 / 300 users, defence on and off (issue 15, ~3 min);
* ``replay``: ``eagle replay``, the online replay with partial feedback on RouterBench (1,500-step
  streams) and arena_bench, six scenarios x 10 seeds (issue 13; ~40 min on 2 busy cores).
  (``benchmarks/select_uniroute.py``, which chose UniRoute's procedure, is run on its own: ~15 min.)

Usage: ``python benchmarks/run_all.py [--only core load ...] [--quick] [--out bench-out]``
(``make bench ARGS="--quick"``). ``--quick`` is a smoke run (10k only, 15 s of load, fewer shuffles,
a capped evaluation); the numbers in docs/BENCHMARKS.md come from the full run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STEPS = (
    "core", "writes", "load", "contention", "langchain", "calibrate-decision", "consistency",
    "consistency-recommended", "eval", "tune", "select", "splits", "unseen-routerbench", "unseen-arena",
    "poison", "honest-strangers", "replay",
)


def data_root() -> Path | None:
    env = os.environ.get("EAGLE_DATA_DIR")
    root = Path(env) if env else REPO.parent / "shared" / "data"
    return root if (root / "routerbench").is_dir() else None


def commands(args: argparse.Namespace, out: Path, data: Path | None) -> dict[str, list[str] | str]:
    py = sys.executable
    quick = args.quick
    cmds: dict[str, list[str] | str] = {
        "core": [py, str(HERE / "bench_core.py"), "--out", str(out),
                 "--sizes", *(["10000"] if quick else ["10000", "100000"]),
                 *(["--routes", "100", "--fresh", "20"] if quick else [])],
        "writes": [py, str(HERE / "bench_writes.py"), "--out", str(out), "--quiet",
                   "--sizes", *(["1000", "5000"] if quick else ["1000", "20000", "100000"]),
                   "--calls", "30" if quick else "200"],
        "load": [py, str(HERE / "bench_load.py"), "--out", str(out),
                 "--seconds", "15" if quick else "60", "--procs", "4"],
        "contention": [py, str(HERE / "bench_contention.py"), "--out", str(out),
                       "--trees", str(REPO), *([args.compare_tree] if args.compare_tree else []),
                       *(["--seconds", "10", "--quiet-seconds", "5"] if quick else [])],
        "langchain": [py, str(HERE / "bench_langchain.py"), "--out", str(out),
                      *(["--calls", "50", "--seed-items", "100"] if quick else [])],
    }
    if data is None:
        why = ("skipped: no data (set EAGLE_DATA_DIR to the folder holding routerbench/, or place it at "
               "../shared/data; see docs/DATA.md)")
        for step in STEPS:
            cmds.setdefault(step, why)  # the steps that need no data are already there
        return cmds
    consistency = [py, str(HERE / "bench_consistency.py"), "--out", str(out), "--data", str(data),
                   "--shuffles", "2" if quick else "5"]
    # the shipped defaults are the validated ("recommended") settings; compare with the paper's K=32
    cmds["consistency"] = [*consistency, "--config", "paper"]
    cmds["consistency-recommended"] = [*consistency, "--config", "recommended"]
    cmds["calibrate-decision"] = [py, str(HERE / "calibrate_decision.py"), "--out", str(out),
                                  "--data", str(data / "routerbench")]
    cmds["eval"] = [py, "-m", "eagle_core.cli", "bench", "--data", str(data), "--out", str(out / "eval"),
                    *(["--limit", "300", "--no-online"] if quick else [])]
    routerbench = str(data / "routerbench")
    cmds["tune"] = [py, str(HERE / "tune_eagle.py"), "--data", routerbench,
                    *(["--folds", "3"] if quick else [])]
    cmds["select"] = [py, str(HERE / "select_eagle.py"), "--out", str(out / "select-eagle"),
                      *(["--folds", "3"] if quick else [])]
    cmds["splits"] = [py, str(HERE / "split_seeds.py"), "--data", routerbench, "--out", str(out / "splits"),
                      "--no-mlp", *(["--seeds", "0", "42"] if quick else [])]
    unseen = [py, "-m", "eagle_core.evaluation.unseen", "--n-val", "100"]
    cmds["unseen-routerbench"] = [*unseen, "--data", routerbench, "--out", str(out / "unseen-routerbench"),
                                  "--trials", "3" if quick else "30"]
    cmds["unseen-arena"] = [*unseen, "--data", str(data / "arena_bench"), "--out", str(out / "unseen-arena"),
                            "--trials", "20" if quick else "400"]
    cmds["poison"] = [py, str(HERE / "bench_poison.py"), "--data", str(data), "--out", str(out),
                      *(["--quick"] if quick else [])]
    cmds["honest-strangers"] = [py, str(HERE / "bench_honest_strangers.py"), "--data", str(data),
                                "--out", str(out), "--seeds", "2" if quick else "5", "--length", "1000",
                                "--scenarios", "cold", "warm", "sparse", "drift"]
    cmds["replay"] = [py, "-m", "eagle_core.cli", "replay", "--data", str(data), "--datasets", "routerbench",
                      "arena_bench", "--out", str(out / "replay"), "--length", "1500",
                      "--seeds", "2" if quick else "10", *(["--limit", "100"] if quick else [])]
    return cmds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--quick", action="store_true", help="a smoke run with smaller sizes")
    parser.add_argument("--out", default=str(REPO / "bench-out"))
    parser.add_argument("--compare-tree", help="another code tree for the contention step (e.g. ../main)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
           "TOKENIZERS_PARALLELISM": "false"}
    cmds = commands(args, out, data_root())
    summary: dict[str, dict] = {}
    for step in args.only:
        cmd = cmds[step]
        print(f"\n=== {step} ===", flush=True)
        if isinstance(cmd, str):
            print(cmd, flush=True)
            summary[step] = {"status": cmd}
            continue
        print("$ " + " ".join(cmd), flush=True)
        t0 = time.perf_counter()
        code = subprocess.call(cmd, cwd=REPO, env=env)
        summary[step] = {"command": " ".join(cmd), "exit_code": code,
                         "seconds": round(time.perf_counter() - t0, 1)}
        print(f"--- {step}: exit {code} in {summary[step]['seconds']} s", flush=True)
    (out / "run_all.json").write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {out}/run_all.json; per-step results in {out}/")
    failed = [s for s, r in summary.items() if r.get("exit_code", 0) != 0]
    if failed:
        print(f"failed steps: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
