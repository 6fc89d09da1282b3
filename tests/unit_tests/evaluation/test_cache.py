from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eagle_core.evaluation import CachedEmbedder


class Counting:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_each_text_is_embedded_once_across_instances(tmp_path: Path) -> None:
    fn = Counting()
    emb = CachedEmbedder(fn, name="count", cache_dir=tmp_path, progress=False)
    out = emb(["a", "bb", "a"])
    assert out.tolist() == [[1, 1], [2, 1], [1, 1]]
    assert fn.seen == ["a", "bb"]
    emb.close()
    again = CachedEmbedder(fn, name="count", cache_dir=tmp_path, progress=False)
    assert again(["bb", "ccc"]).tolist() == [[2, 1], [3, 1]]
    assert fn.seen == ["a", "bb", "ccc"]  # only the new text was embedded
    assert again.cached(["a", "zz"]).tolist() == [True, False]


def test_cache_is_keyed_by_embedder_name(tmp_path: Path) -> None:
    fn = Counting()
    CachedEmbedder(fn, name="one", cache_dir=tmp_path, progress=False)(["x"])
    CachedEmbedder(fn, name="two", cache_dir=tmp_path, progress=False)(["x"])
    assert fn.seen == ["x", "x"]


def test_callable_needs_a_name_and_truncation_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="name"):
        CachedEmbedder(Counting(), cache_dir=tmp_path)(["x"])
    with pytest.raises(ValueError, match="truncation"):
        _ = CachedEmbedder(truncation="middle").key
    assert CachedEmbedder().key == "all-MiniLM-L6-v2@trunc-left"


def test_cache_dir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EAGLE_CACHE_DIR", str(tmp_path / "c"))
    CachedEmbedder(Counting(), name="n", progress=False)(["x"])
    assert (tmp_path / "c" / "embeddings" / "n.sqlite").is_file()  # one root for every cache


def test_left_truncation_keeps_the_distinct_end_of_long_prompts(isolated_cache: Path) -> None:
    """Few-shot prompts share a long prefix: only left truncation tells them apart."""
    prefix = "Question: what colour is the sky? Answer: blue. " * 60
    texts = [prefix + "Which planet is largest?", prefix + "How do I bake bread at home?"]
    left = CachedEmbedder(truncation="left", progress=False)(texts)
    right = CachedEmbedder(truncation="right", progress=False)(texts)
    assert float(right[0] @ right[1]) > 0.999
    assert float(left[0] @ left[1]) < 0.95
