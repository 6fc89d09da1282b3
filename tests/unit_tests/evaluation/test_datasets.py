from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from eagle_core import datasets
from eagle_core.datasets import (
    DatasetFormatError,
    DatasetNotFoundError,
    load_dataset,
)


def test_load_reads_prompts_scores_costs_and_meta(tiny_dataset: Path) -> None:
    ds = load_dataset(tiny_dataset)
    assert ds.name == "tiny"
    assert len(ds) == 60
    assert ds.models == ("cheap", "mid", "pricey")
    assert ds.subset_names == ["s1", "s2"]
    assert ds.scores.shape == ds.costs.shape == (60, 3)
    math_rows = [i for i, pid in enumerate(ds.prompt_ids) if pid.startswith("math.")]
    assert ds.scores[math_rows, 1].tolist() == [1.0] * 30  # 'mid' is right on math
    assert ds.scores[math_rows, 0].tolist() == [0.0] * 30
    np.testing.assert_allclose(ds.mean_costs(), [0.001, 0.003, 0.01])


def test_gzipped_scores_and_unknown_cost_are_nan(make_dataset) -> None:
    folder = make_dataset("gz", gz_scores=True, costs=(0.001, None, 0.01))
    ds = load_dataset(folder)
    assert np.isnan(ds.costs[:, 1]).all()
    assert np.isnan(ds.mean_costs()[1])  # unknown, never 0 ("free")
    assert not np.isnan(ds.scores).any()


def test_split_is_per_subset_seeded_and_70_30(tiny_dataset: Path) -> None:
    ds = load_dataset(tiny_dataset)
    train, test = ds.split(seed=42, train_frac=0.7)
    assert len(set(train) & set(test)) == 0 and len(train) + len(test) == 60
    for sub in ds.subset_names:
        rows = ds.subset_indices(sub)
        assert np.isin(rows, train).sum() == 21  # int(0.7 * 30) per sub-dataset
        # RouterBench: np.random.seed(42); shuffle; first 70% train
        np.random.seed(42)
        perm = np.arange(len(rows))
        np.random.shuffle(perm)
        assert set(rows[perm[:21]]) == set(train[np.isin(train, rows)])
    again = ds.split(seed=42)
    assert np.array_equal(again[0], train)
    assert not np.array_equal(ds.split(seed=1)[0], train)


def test_split_rejects_bad_fraction(tiny_dataset: Path) -> None:
    with pytest.raises(ValueError, match="train_frac"):
        load_dataset(tiny_dataset).split(train_frac=1.5)


def test_sample_per_subset_caps_each_subset(tiny_dataset: Path) -> None:
    ds = load_dataset(tiny_dataset)
    small = ds.sample_per_subset(5)
    assert len(small) == 10
    assert [int((small.subsets == s).sum()) for s in small.subset_names] == [5, 5]
    assert small.sample_per_subset(5).prompt_ids == small.prompt_ids
    assert ds.sample_per_subset(None) is ds


def test_responses_are_lazy_and_keyed_by_prompt_and_model(tiny_dataset: Path) -> None:
    ds = load_dataset(tiny_dataset)
    resp = ds.responses()
    assert resp[("math.0", "cheap")] == "ans math.0"
    assert len(resp) == 3


def test_votes_only_dataset(votes_dataset: Path) -> None:
    ds = load_dataset(votes_dataset)
    assert ds.scores is None and not ds.has_scores
    assert ds.models == ("good", "bad")
    assert len(ds.votes) == 120 * 6  # 120 prompts x 6 votes
    assert {v.winner for v in ds.votes} <= {"model_a", "model_b", "tie"}


def test_load_by_name_under_data_dir(tiny_dataset: Path) -> None:
    ds = load_dataset("tiny", data_dir=tiny_dataset.parent)
    assert len(ds) == 60
    assert datasets.list_datasets(tiny_dataset.parent) == ["tiny"]


def test_missing_dataset_error_names_path_and_fix(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("routerbench", data_dir=tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "routerbench") in msg and "EAGLE_DATA_DIR" in msg
    assert isinstance(info.value, ValueError)
    from eagle_core import EagleError

    assert isinstance(info.value, EagleError)


def test_data_dir_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EAGLE_DATA_DIR", str(tmp_path))
    assert datasets.data_dir() == tmp_path


def test_missing_column_is_a_format_error(tiny_dataset: Path) -> None:
    (tiny_dataset / "scores.csv").write_text("prompt_id,model,score\nmath.0,cheap,1\n")
    with pytest.raises(DatasetFormatError, match="cost_usd"):
        load_dataset(tiny_dataset)


def test_score_for_unknown_prompt_is_a_format_error(tiny_dataset: Path) -> None:
    with open(tiny_dataset / "scores.csv", "a", encoding="utf-8") as fh:
        fh.write("nope.1,cheap,1,0.1\n")
    with pytest.raises(DatasetFormatError, match="nope.1"):
        load_dataset(tiny_dataset)


def test_non_numeric_score_is_a_format_error(tiny_dataset: Path) -> None:
    with open(tiny_dataset / "scores.csv", "a", encoding="utf-8") as fh:
        fh.write("math.0,cheap,high,0.1\n")
    with pytest.raises(DatasetFormatError, match="'high'"):
        load_dataset(tiny_dataset)


def test_prompts_with_carriage_returns_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "cr"
    folder.mkdir()
    with gzip.open(folder / "prompts.csv.gz", "wt", newline="", encoding="utf-8") as fh:
        fh.write('prompt_id,dataset,prompt\r\na,x,"line1\r\nline2"\r\n')
    (folder / "scores.csv").write_text("prompt_id,model,score,cost_usd\na,m,0.5,\n")
    ds = load_dataset(folder)
    assert ds.prompts == ("line1\r\nline2",)
    assert np.isnan(ds.costs[0, 0]) and ds.scores[0, 0] == 0.5
