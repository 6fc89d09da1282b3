"""Tiny synthetic dataset folders in the canonical format, written to tmp dirs."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

TOPICS = {
    "math": ["What is {a} plus {b}?", "Compute {a} times {b}.", "Is {a} a prime number?"],
    "poem": ["Write a haiku about {w}.", "Compose a short poem on {w}.", "A limerick about {w}."],
}
WORDS = ["rain", "autumn", "the sea", "mountains", "coffee", "cats", "trains", "snow", "stars"]


def write_dataset(
    folder: Path,
    *,
    n_per_topic: int = 30,
    models: tuple[str, ...] = ("cheap", "mid", "pricey"),
    costs: tuple[float | None, ...] = (0.001, 0.003, 0.01),
    gz_scores: bool = False,
    seed: int = 0,
) -> Path:
    """Two sub-datasets 's1', 's2', each mixing two topics: on 'math' prompts 'mid' is right and
    'cheap' wrong, on 'poem' prompts the reverse; 'pricey' is right 90% of the time everywhere.
    No single model is best, so only prompt-aware routing reaches the oracle."""
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    prompts, scores = [], []
    for i in range(n_per_topic):
        for topic, templates in TOPICS.items():
            text = templates[i % 3].format(a=i + 2, b=3 * i + 1, w=WORDS[i % len(WORDS)]) + f" #{i}"
            pid = f"{topic}.{i}"
            prompts.append((pid, f"s{1 + i % 2}", text))
            good = "mid" if topic == "math" else "cheap"
            for m, c in zip(models, costs, strict=True):
                s = 1 if m == good else (int(rng.rand() < 0.9) if m == "pricey" else 0)
                scores.append((pid, m, s, "" if c is None else c))
    with open(folder / "prompts.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "dataset", "prompt"])
        w.writerows(prompts)
    opener = (
        (lambda p: gzip.open(p, "wt", newline="", encoding="utf-8"))
        if gz_scores
        else (lambda p: open(p, "w", newline="", encoding="utf-8"))
    )
    with opener(folder / ("scores.csv.gz" if gz_scores else "scores.csv")) as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "model", "score", "cost_usd"])
        w.writerows(scores)
    with gzip.open(folder / "responses.jsonl.gz", "wt", encoding="utf-8") as fh:
        for pid, _, _ in prompts[:3]:
            fh.write(json.dumps({"prompt_id": pid, "model": "cheap", "response": f"ans {pid}"}))
            fh.write("\n")
    (folder / "meta.json").write_text(json.dumps({"name": folder.name, "models": list(models)}))
    return folder


def write_votes_dataset(folder: Path, n_prompts: int = 20, seed: int = 0) -> Path:
    """Vote-only data: 'good' beats 'bad' on 'math' prompts, loses on 'poem' prompts."""
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows, votes = [], []
    for i in range(n_prompts):
        topic = "math" if i % 2 == 0 else "poem"
        text = TOPICS[topic][i % 3].format(a=i, b=i + 1, w=WORDS[i % len(WORDS)])
        rows.append((f"p{i}", "bench", text))
        for _ in range(6):
            judge = "human" if rng.rand() < 0.7 else "gpt4"
            win = "model_a" if (topic == "math") == (rng.rand() < 0.85) else "model_b"
            votes.append((f"p{i}", "good", "bad", win if rng.rand() > 0.1 else "tie", judge))
    with open(folder / "prompts.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "dataset", "prompt"])
        w.writerows(rows)
    with open(folder / "votes.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "model_a", "model_b", "winner", "judge"])
        w.writerows(votes)
    (folder / "meta.json").write_text(json.dumps({"name": folder.name}))
    return folder


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "tiny")


@pytest.fixture
def make_dataset(tmp_path: Path) -> Callable[..., Path]:
    def factory(name: str = "tiny", **kwargs) -> Path:
        return write_dataset(tmp_path / name, **kwargs)

    return factory


@pytest.fixture
def votes_dataset(tmp_path: Path) -> Path:
    return write_votes_dataset(tmp_path / "votes", n_prompts=120)  # > 2 x N=40 neighbours


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the embedding cache at a tmp dir so tests never touch ~/.cache."""
    path = tmp_path / "emb-cache"
    monkeypatch.setenv("EAGLE_CACHE_DIR", str(path))
    return path
