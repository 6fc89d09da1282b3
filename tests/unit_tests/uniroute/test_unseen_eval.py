"""The --unseen evaluation on a small synthetic dataset: contract, unknown costs, metrics."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

from eagle_core import ConfigError
from eagle_core.datasets import RoutingDataset
from eagle_core.evaluation.unseen import ROUTERS, combine_unseen, qnc, run_unseen


def specialist_dataset(n_per: int = 120, seed: int = 0) -> tuple[RoutingDataset, np.ndarray]:
    """3 prompt topics; 8 models, each strong on one topic; one model with unknown cost."""
    rng = np.random.default_rng(seed)
    topic = np.repeat(np.arange(3), n_per)
    x = np.eye(16)[topic] * 4.0 + rng.normal(scale=0.5, size=(len(topic), 16))
    models = tuple(f"m{j}" for j in range(8))
    strong = np.arange(8) % 3
    p = np.where(topic[:, None] == strong[None, :], 0.9, 0.3)
    scores = (rng.random(p.shape) < p).astype(float)
    costs = np.tile(np.linspace(1.0, 2.0, 8), (len(topic), 1))
    costs[:, 7] = np.nan  # like palm-2 in arena_bench
    ds = RoutingDataset(
        name="synthetic",
        path=None,
        prompt_ids=tuple(f"p{i}" for i in range(len(topic))),
        prompts=tuple(f"prompt {i}" for i in range(len(topic))),
        subsets=np.asarray(["s"] * len(topic)),
        models=models,
        scores=scores,
        costs=costs,
    )
    return ds, x


def test_run_unseen_writes_the_contract_and_a_plot(tmp_path, caplog) -> None:
    ds, x = specialist_dataset()
    with caplog.at_level(logging.WARNING):
        res = run_unseen(ds, x, trials=2, n_val=100, curve=(60, 100, 150), out_dir=tmp_path,
                         progress=False)
    assert "m7" in caplog.text and "unknown cost" in caplog.text
    assert res["excluded_models"] == ["m7"] and "m7" not in res["models"]
    assert set(res["area"]) == set(res["qnc"]) == set(ROUTERS)
    assert all(0.0 < v <= 1.0 for v in res["area"].values())
    assert res["curve"]["n_val"] == [60, 100, 150]
    # topic specialists: per-cluster errors must beat the input-independent Pareto mix
    assert res["area"]["uniroute_kmeans"] > res["area"]["zero_router"] + 0.05
    assert res["chosen"]["kmeans_K"] == {"3": 6}  # 3 sizes x 2 trials, the paper's K range
    assert (tmp_path / "unseen_synthetic.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "unseen_synthetic.json").read_text())
    assert saved["area"] == res["area"]
    top = combine_unseen({"synthetic": res})
    assert top["area"] == res["area"] and top["qnc"] == res["qnc"]


def test_bad_arguments_are_rejected_with_the_value() -> None:
    ds, x = specialist_dataset(n_per=40)
    with pytest.raises(ConfigError, match="n_val"):
        run_unseen(ds, x, trials=1, n_val=500, progress=False)
    with pytest.raises(ConfigError, match="unseen_frac"):
        run_unseen(ds, x, trials=1, n_val=20, unseen_frac=1.5, progress=False)
    with pytest.raises(ConfigError, match="embeddings"):
        run_unseen(ds, x[:10], trials=1, n_val=20, progress=False)


def test_qnc_interpolates_and_reports_never_reached() -> None:
    xs, ys = np.array([1.0, 3.0]), np.array([0.5, 0.9])
    assert qnc(xs, ys, 0.7, ref_cost=4.0) == pytest.approx(0.5)  # halfway mix costs 2
    assert qnc(xs, ys, 0.4, ref_cost=4.0) == pytest.approx(0.25)
    assert math.isinf(qnc(xs, ys, 0.95, ref_cost=4.0))
