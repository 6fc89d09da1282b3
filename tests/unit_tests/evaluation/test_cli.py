"""``eagle bench`` end to end on tiny synthetic folders (real MiniLM, real Chroma, tmp cache)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eagle_core.cli import build_parser, main

pytestmark = pytest.mark.usefixtures("isolated_cache")


def test_bench_writes_results_contract_markdown_and_plots(make_dataset, tmp_path: Path, capsys) -> None:
    data = make_dataset("tiny", n_per_topic=24, costs=(0.001, 0.003, None))
    out = tmp_path / "out"
    assert main(["bench", "--data", str(data), "--out", str(out), "--quiet",
                 "--routers", "eagle", "eagle_paper", "knn40", "single", "oracle"]) == 0  # fmt: skip
    res = json.loads((out / "results.json").read_text())
    assert set(res["datasets"]) == {"s1", "s2"}
    routers = {"eagle", "eagle_paper", "knn40", "single", "oracle"}
    for sub in res["datasets"].values():
        assert set(sub["auc"]) == routers
        assert all(0.0 <= v <= 15.0 for v in sub["auc"].values())
        # the unknown-cost model is left out, never treated as free
        assert sub["excluded_models_unknown_cost"] == ["pricey"]
        assert sub["auc"]["oracle"] >= max(sub["auc"].values()) - 1e-9
    assert res["total_auc"]["eagle"] == pytest.approx(
        sum(d["auc"]["eagle"] for d in res["datasets"].values())
    )
    # no single model suits both topics; local feedback lets Eagle beat the best single
    assert res["total_auc"]["eagle"] > res["total_auc"]["single"]
    assert {"fit", "predict", "online_init", "online_update_1"} <= set(res["timing_s"]["eagle"])
    update = res["online_summary"]["tiny"]["updates"]["update_1"]
    assert update["eagle_s"] > 0 and update["eagle_ratings_only_s"] > 0
    assert update["fastest_baseline"] == "knn40"  # the only retrained baseline in this run
    assert (out / "results.md").read_text().count("| s1 |") == 2
    assert (out / "tiny_lambda.png").stat().st_size > 1000
    assert (out / "tiny_cost_quality.png").stat().st_size > 1000
    assert "total AUC" in capsys.readouterr().out


def test_bench_on_a_data_root_prefixes_keys_and_adds_votes(
    make_dataset, votes_dataset: Path, tmp_path: Path
) -> None:
    root = votes_dataset.parent
    make_dataset("one", n_per_topic=12)
    make_dataset("two", n_per_topic=12, seed=1)
    out = tmp_path / "out"
    assert main(["bench", "--data", str(root), "--out", str(out), "--quiet", "--no-online",
                 "--no-plots", "--routers", "eagle", "single"]) == 0  # fmt: skip
    res = json.loads((out / "results.json").read_text())
    assert set(res["datasets"]) == {"one/s1", "one/s2", "two/s1", "two/s2"}
    assert set(res["folders"]) == {"one", "two"}
    votes = res["votes"]
    assert set(votes["accuracy"]) == set(votes["log_loss"]) == {"global", "eagle"}
    # 'good' wins on math prompts and loses on poem prompts: only local ratings can see that
    assert votes["accuracy"]["eagle"] > votes["accuracy"]["global"]


def test_votes_only_dataset_writes_only_votes(votes_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["bench", "--data", str(votes_dataset), "--out", str(out), "--quiet"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert "votes" in res and "datasets" not in res and "total_auc" not in res


def test_missing_data_exits_2_with_a_message(tmp_path: Path, capsys) -> None:
    assert main(["bench", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nope") in err and "EAGLE_DATA_DIR" in err


def test_unknown_router_is_rejected(make_dataset, tmp_path: Path, capsys) -> None:
    data = make_dataset("tiny", n_per_topic=6)
    assert main(["bench", "--data", str(data), "--out", str(tmp_path / "o"),
                 "--routers", "eagle", "gpt5"]) == 2  # fmt: skip
    assert "gpt5" in capsys.readouterr().err


def test_parser_accepts_extension_flags() -> None:
    class Ext:
        @staticmethod
        def add_arguments(parser) -> None:
            parser.add_argument("--unseen", type=float)

    args = build_parser([Ext]).parse_args(["bench", "--data", "d", "--out", "o", "--unseen", "0.5"])
    assert args.unseen == 0.5 and args.limit is None


@pytest.mark.parametrize("bad", ["[1]", '{"k": -1}', '{"kay": 3}', "nonsense"])
def test_bad_eagle_config_is_rejected_before_running(bad: str, make_dataset, tmp_path: Path, capsys) -> None:
    data = make_dataset("tiny", n_per_topic=6)
    assert main(["bench", "--data", str(data), "--out", str(tmp_path / "o"),
                 "--eagle-config", bad]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "--eagle-config" in err or "k must be > 0, got -1" in err
    assert not (tmp_path / "o" / "results.json").exists()
