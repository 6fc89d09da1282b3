"""``eagle replay`` end to end on a tiny synthetic folder (real MiniLM, tmp cache)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eagle_core.cli import main

pytestmark = pytest.mark.usefixtures("isolated_cache")


def test_replay_writes_results_markdown_and_plots(make_dataset, tmp_path: Path, capsys) -> None:
    data = make_dataset("tiny", n_per_topic=40)
    out = tmp_path / "out"
    assert main(["replay", "--data", str(data), "--out", str(out), "--quiet", "--seeds", "2",
                 "--scenarios", "cold", "drift", "newcomer", "budget",
                 "--routers", "eagle_greedy", "thompson", "random"]) == 0  # fmt: skip
    res = json.loads((out / "results.json").read_text())
    entry = res["datasets"]["tiny"]
    assert entry["models"] == ["cheap", "mid", "pricey"] and entry["stream_length"] == 80
    assert entry["wtp"] > 0
    for name in ("cold", "drift", "newcomer", "budget"):
        sc = entry["scenarios"][name]
        assert set(sc["routers"]) == {"eagle_greedy", "thompson", "random"}
        ref = sc["references"]
        for st in sc["routers"].values():
            assert st["utility"]["n"] == 2
            assert st["utility"]["mean"] <= ref["oracle_utility"]["mean"] + 1e-12
            assert len(st["share_thirds"]) == 3
        assert len(sc["curves"]["random"]["regret"]) == 80
    assert "overshoot" in entry["scenarios"]["budget"]["routers"]["thompson"]
    assert "drift_share_before" in entry["scenarios"]["drift"]["routers"]["eagle_greedy"]
    md = (out / "results.md").read_text()
    assert "#### cold" in md and "best fixed" in md and "Newcomer" in md
    assert (out / "regret_tiny.png").stat().st_size > 1000
    assert (out / "share_tiny.png").stat().st_size > 1000
    assert "tiny cold: best" in capsys.readouterr().out


def test_replay_rejects_unknown_scenario_and_router(make_dataset, tmp_path: Path, capsys) -> None:
    data = make_dataset("tiny", n_per_topic=6)
    assert main(["replay", "--data", str(data), "--out", str(tmp_path / "o"), "--quiet",
                 "--scenarios", "cold", "storm"]) == 2  # fmt: skip
    assert "storm" in capsys.readouterr().err
    assert main(["replay", "--data", str(data), "--out", str(tmp_path / "o"), "--quiet",
                 "--routers", "nope"]) == 2  # fmt: skip
    assert "nope" in capsys.readouterr().err
