"""``eagle bench`` on a small slice of the real RouterBench data (needs EAGLE_DATA_DIR)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eagle_core.cli import main

pytestmark = pytest.mark.data


def test_bench_cli_on_real_routerbench_slice(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main([
        "bench", "--data", str(data_dir / "routerbench"), "--out", str(out), "--limit", "60",
        "--quiet", "--routers", "eagle", "eagle_paper", "knn40", "svm", "single", "random",
        "oracle",
    ])  # fmt: skip
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["datasets"]) == {"arc-challenge", "mbpp", "winogrande"}
    for name, sub in res["datasets"].items():
        auc = sub["auc"]
        assert sub["n_train"] == 42 and sub["n_test"] == 18, name
        assert all(0.0 < v <= 15.0 for v in auc.values()), auc
        assert auc["oracle"] >= max(auc.values()) - 1e-9, auc  # nothing beats knowing the answers
        assert sub["uniroute"]["oracle"]["area"] <= 1.0
    total = res["total_auc"]
    assert total["oracle"] > total["single"] > total["random"] - 1.0
    assert total["eagle"] == pytest.approx(sum(d["auc"]["eagle"] for d in res["datasets"].values()))
    assert res["config"]["eagle_backend"] == "engine"
    updates = res["online_summary"]["routerbench"]["updates"]
    assert {"update_1", "update_2"} <= set(updates)
    assert (out / "routerbench_lambda.png").is_file()
