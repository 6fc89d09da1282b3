"""``eagle bench --judges``: which judges' votes count, and a clear error when none match."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from eagle_core import EagleError
from eagle_core.cli import main
from eagle_core.datasets import load_dataset
from eagle_core.evaluation import JudgeSelectionError, select_judges

pytestmark = pytest.mark.usefixtures("isolated_cache")


def _rename_judges(folder: Path, names: dict[str, str]) -> Path:
    path = folder / "votes.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for i, r in enumerate(rows):
            r["judge"] = names.get(r["judge"], r["judge"]).format(i=i % 4)
            w.writerow(r)
    return folder


def test_select_judges_keeps_only_the_named_judges(votes_dataset: Path) -> None:
    votes = load_dataset(votes_dataset).votes
    kept = select_judges(votes, ("gpt4",))
    assert kept and {v.judge for v in kept} == {"gpt4"}
    assert len(select_judges(votes, None)) == len(votes)


def test_empty_selection_is_an_error_naming_the_judges_held(votes_dataset: Path) -> None:
    votes = load_dataset(_rename_judges(votes_dataset, {"human": "author_{i}"})).votes
    with pytest.raises(JudgeSelectionError) as err:
        select_judges(votes, ("human",), "votes")
    msg = str(err.value)
    assert "['human']" in msg and "author_0" in msg and "author_3" in msg and "gpt4" in msg
    assert isinstance(err.value, EagleError) and isinstance(err.value, ValueError)
    with pytest.raises(JudgeSelectionError, match="at least one judge"):
        select_judges(votes, ())


def test_bench_judges_flag_selects_votes_and_reports_them(votes_dataset: Path, tmp_path: Path) -> None:
    _rename_judges(votes_dataset, {"human": "author_{i}"})
    out = tmp_path / "out"
    assert main(["bench", "--data", str(votes_dataset), "--out", str(out), "--quiet",
                 "--judges", "author_0", "author_1"]) == 0  # fmt: skip
    v = json.loads((out / "results.json").read_text())["votes"]
    assert v["judges"] == ["author_0", "author_1"]
    n_sel = sum(1 for x in load_dataset(votes_dataset).votes if x.judge in ("author_0", "author_1"))
    assert 0 < v["n_train_votes"] < n_sel
    assert 0 < v["n_test_votes"] + v["n_test_ties_excluded"] <= n_sel - v["n_train_votes"]
    assert v["accuracy"]["eagle"] == v["accuracy"]["eagle"]  # not NaN
    out_all = tmp_path / "all"
    assert main(["bench", "--data", str(votes_dataset), "--out", str(out_all), "--quiet",
                 "--judges", "all"]) == 0  # fmt: skip
    v_all = json.loads((out_all / "results.json").read_text())["votes"]
    assert v_all["n_train_votes"] > v["n_train_votes"]
    assert set(v_all["judges"]) == {"author_0", "author_1", "author_2", "author_3", "gpt4"}


def test_bench_default_judges_on_a_per_person_file_exits_2_listing_judges(
    votes_dataset: Path, tmp_path: Path, capsys
) -> None:
    _rename_judges(votes_dataset, {"human": "expert_{i}"})
    assert main(["bench", "--data", str(votes_dataset), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "select no vote" in err and "expert_0" in err and "gpt4" in err
    assert not (tmp_path / "o" / "results.json").exists()
