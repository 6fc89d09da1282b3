"""``eagle replay`` on a small slice of the real RouterBench data (needs EAGLE_DATA_DIR)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eagle_core.cli import main

pytestmark = pytest.mark.data


def test_replay_cli_on_real_routerbench_slice(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("pareto_bandit")
    out = tmp_path / "out"
    assert main(["replay", "--data", str(data_dir / "routerbench"), "--out", str(out), "--limit", "60",
                 "--seeds", "2", "--scenarios", "cold", "budget", "--no-plots", "--quiet"]) == 0  # fmt: skip
    entry = json.loads((out / "results.json").read_text())["datasets"]["routerbench"]
    assert len(entry["models"]) == 11 and entry["stream_length"] == 180
    cold = entry["scenarios"]["cold"]
    expected = {"eagle_greedy", "eagle_full", "paretobandit", "linucb", "thompson", "random"}
    assert expected <= set(cold["routers"])
    assert cold["references"]["oracle_utility"]["mean"] > cold["references"]["fixed_utility"]["mean"]
    for st in entry["scenarios"]["budget"]["routers"].values():
        assert st["overshoot"]["mean"] >= 0.0
