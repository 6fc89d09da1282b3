"""Cold start: what the first route of a fresh process costs (the README quotes it).

Each run is a fresh Python process (``subprocess``) that imports eagle_core, builds an engine on a
persistent Chroma store in a temp dir with the bundled MiniLM embedder (offline), then times the
first route (or ``eagle.warmup()`` when the engine has it: the same load, done up front)
and the median of the next 5 routes; ``first_cpu`` is the first route's CPU time (all threads), which
depends less on what else the machine runs than the wall time. Reported: median and max over
``--runs`` processes.

Usage: ``python benchmarks/bench_cold_start.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine  # noqa: E402

CHILD = r"""
import json, tempfile, time
t0 = time.perf_counter()
from eagle_core import Eagle
t1 = time.perf_counter()
c1 = time.process_time()
eagle = Eagle(models={"gpt-4o": 0.01, "mixtral": 0.001}, path=tempfile.mkdtemp())
if hasattr(eagle, "warmup"):
    eagle.warmup()
eagle.route("How do I reverse a list in Python?")
t2 = time.perf_counter()
c2 = time.process_time()
later = []
for q in ["Write a haiku", "Prove Fermat's little theorem", "What is the capital of Peru?",
          "Explain recursion", "Sort a dict by value"]:
    s = time.perf_counter()
    eagle.route(q)
    later.append(time.perf_counter() - s)
later.sort()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "first_cpu": c2 - c1,
                  "next_ms": 1000 * later[len(later) // 2]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}
    root = Path(__file__).resolve().parents[1]
    runs = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=root, check=True,
                             capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    print(machine())
    for key, unit in (("import", "s"), ("first", "s"), ("first_cpu", "s"), ("next_ms", "ms")):
        values = [r[key] for r in runs]
        print(f"{key:>8}: median {statistics.median(values):.2f} {unit}, max {max(values):.2f} {unit}")


if __name__ == "__main__":
    main()
