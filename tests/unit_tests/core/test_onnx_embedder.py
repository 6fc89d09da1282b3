"""The opt-in ONNX Runtime MiniLM: the default embedder's vectors, a graph exported once and cached on
disk, a typed error naming the extra when a package is missing, nothing loaded at construction."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from eagle_core import (
    ConfigError,
    EagleError,
    MissingDependencyError,
    OnnxMiniLMEmbedder,
    SentenceTransformerEmbedder,
    resolve_embedder,
)
from eagle_core._embeddings import DEFAULT_EMBEDDER_NAME
from eagle_core._onnx_embedder import default_cache_dir

FEW_SHOT = "".join(
    f"Question: A farmer has {n} sheep and buys {n + 3} more, then sells {n // 2}. How many sheep "
    f"does the farmer have now? Explain the arithmetic step by step.\nAnswer: {n} + {n + 3} - "
    f"{n // 2} = {n + n + 3 - n // 2}.\n\n" for n in range(4, 40, 3)
) + "Question: Which gas do plants absorb from the air for photosynthesis?\nAnswer:"

PROMPTS = [
    "What is the capital of Australia?",
    "Write a haiku about the sea at night.",
    "  How do I reverse a linked list in Python? Show code.  ",
    "Ünïcödé, 中文, テスト and emoji 😀: what languages are these?",
    FEW_SHOT,  # longer than MiniLM's 256-token window: left truncation keeps its end
    "Summarise the causes of the First World War in three sentences.",
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir holding the exported graph (the export runs once per test session)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx", reason="exporting the graph needs `pip install \"eagle-router[onnx]\"`")
    cache = tmp_path_factory.mktemp("eagle-cache")
    first = OnnxMiniLMEmbedder(cache_dir=cache)
    first.embed(["warm up"])
    assert first.exported_ and first.graph_path_ is not None and first.graph_path_.is_file()
    return cache


def test_constructor_loads_nothing(tmp_path: Path) -> None:
    emb = OnnxMiniLMEmbedder(cache_dir=tmp_path / "cache", threads=1)
    assert emb._session is None and emb.graph_path_ is None
    assert not (tmp_path / "cache").exists()
    assert emb.name == DEFAULT_EMBEDDER_NAME  # same vectors: a store built on torch reopens with it


def test_spec_string_resolves_lazily() -> None:
    emb = resolve_embedder("onnx")
    assert isinstance(emb, OnnxMiniLMEmbedder) and emb._session is None


@pytest.mark.parametrize("kwargs", [{"threads": 0}, {"threads": 1.5}, {"batch_size": 0},
                                    {"truncation": "middle"}])
def test_bad_arguments_are_config_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        OnnxMiniLMEmbedder(**kwargs)


def test_vectors_equal_torch(onnx_cache: Path, embedder: SentenceTransformerEmbedder) -> None:
    emb = OnnxMiniLMEmbedder(cache_dir=onnx_cache)
    assert emb.count_tokens(FEW_SHOT) > 256
    torch_batch = embedder.embed(PROMPTS)
    onnx_batch = emb.embed(PROMPTS)
    assert onnx_batch.shape == torch_batch.shape == (len(PROMPTS), 384)
    assert onnx_batch.dtype == np.float32
    assert np.abs(onnx_batch - torch_batch).max() <= 1e-5
    one_by_one = np.vstack([emb.embed([p]) for p in PROMPTS])  # as a route embeds
    assert np.abs(one_by_one - torch_batch).max() <= 1e-5
    np.testing.assert_allclose(np.linalg.norm(onnx_batch, axis=1), 1.0, atol=1e-6)
    # left truncation: only the end of a long prompt counts, as in the default embedder
    vecs = emb.embed(["An entirely different preamble. " * 100 + FEW_SHOT, FEW_SHOT])
    assert np.abs(vecs[0] - vecs[1]).max() <= 1e-5


def test_real_prompts_equal_torch(onnx_cache: Path, embedder: SentenceTransformerEmbedder,
                                  data_dir: Path) -> None:
    from eagle_core.datasets import load_dataset

    emb = OnnxMiniLMEmbedder(cache_dir=onnx_cache)
    prompts = []
    for name in ("arena_bench", "routerbench"):
        ds = load_dataset(data_dir / name)
        prompts += [ds.prompts[i] for i in np.random.default_rng(0).permutation(len(ds))[:8]]
    assert any(emb.count_tokens(p) > 256 for p in prompts)
    assert np.abs(emb.embed(prompts) - embedder.embed(prompts)).max() <= 1e-5


def test_cached_graph_is_reused(onnx_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import eagle_core._onnx_embedder as mod

    graphs = list((onnx_cache / "onnx").glob("*.onnx"))
    assert len(graphs) == 1 and DEFAULT_EMBEDDER_NAME in graphs[0].name
    stamp = graphs[0].stat().st_mtime_ns

    def no_export(*args: object) -> None:
        raise AssertionError("exported again although the cache holds the graph")

    monkeypatch.setattr(mod, "_export", no_export)
    monkeypatch.setitem(sys.modules, "onnx", None)  # a warm start needs neither onnx nor torch
    second = OnnxMiniLMEmbedder(cache_dir=onnx_cache)
    assert second.embed(["reused"]).shape == (1, 384)
    assert not second.exported_ and second.graph_path_ == graphs[0]
    assert graphs[0].stat().st_mtime_ns == stamp
    assert list((onnx_cache / "onnx").iterdir()) == graphs  # no temporary file left behind


def test_cache_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EAGLE_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert OnnxMiniLMEmbedder().graph_path().parent == tmp_path / "c" / "onnx"
    monkeypatch.delenv("EAGLE_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "eagle-router"


@pytest.mark.parametrize("missing", ["onnxruntime", "onnx"])
def test_missing_package_is_a_typed_error_naming_the_extra(missing: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # `import missing` raises ImportError
    emb = OnnxMiniLMEmbedder(cache_dir=tmp_path / "cold")  # cold cache: the export needs onnx
    with pytest.raises(MissingDependencyError, match=r'pip install "eagle-router\[onnx\]"') as info:
        emb.embed(["hello"])
    assert isinstance(info.value, EagleError) and isinstance(info.value, ImportError)
    assert repr(missing) in str(info.value)
    assert not list((tmp_path / "cold").rglob("*.onnx"))


def test_engine_routes_with_onnx(onnx_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eagle_core import Eagle, EagleConfig

    monkeypatch.setenv("EAGLE_CACHE_DIR", str(onnx_cache))
    eagle = Eagle({"big": 0.01, "small": 0.001}, embedder="onnx", config=EagleConfig(seed=0))
    try:
        eagle.record_comparison("prove the theorem", winner="big", loser="small")
        d = eagle.route("prove this lemma", explore=False)
        assert d.model == "big"
        eagle.record_feedback(d.decision_id, score=1.0)
        assert isinstance(eagle.embedder_, OnnxMiniLMEmbedder) and not eagle.embedder_.exported_
    finally:
        eagle.close()


def test_unwritable_cache_dir_is_a_config_error(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(ConfigError, match="EAGLE_CACHE_DIR"):
        OnnxMiniLMEmbedder(cache_dir=blocker).embed(["hello"])


def test_token_count_ignores_the_window(onnx_cache: Path) -> None:
    emb = OnnxMiniLMEmbedder(cache_dir=onnx_cache)
    n = emb.count_tokens(FEW_SHOT)
    assert n > 256
    assert emb.embed([FEW_SHOT]).shape == (1, 384)  # counting does not change the embedding's window
    assert emb.count_tokens(FEW_SHOT) == n and emb.count_tokens("hi") == 3  # [CLS] hi [SEP]


# --------------------------------------------------------------------------- int8 (quantize=True) --
# Measured bound (docs/BENCHMARKS.md, "One online step with embedder="onnx-int8""): over 1,275
# RouterBench and arena_bench prompts the int8 vectors' cosine to torch's is >= 0.985 (median 0.994),
# max abs difference per coordinate 0.031. The tests hold them to cosine 0.97 and 0.05.
INT8_MIN_COSINE = 0.97
INT8_MAX_ABS = 0.05


@pytest.fixture(scope="session")
def int8_cache(onnx_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir holding a copy of the float graph and the int8 graph built from it (not re-exported)."""
    import shutil

    import eagle_core._onnx_embedder as mod

    cache = tmp_path_factory.mktemp("eagle-int8-cache")
    (cache / "onnx").mkdir()
    (float_graph,) = (onnx_cache / "onnx").glob("*.onnx")
    shutil.copy(float_graph, cache / "onnx" / float_graph.name)

    def no_export(*args: object) -> None:
        raise AssertionError("the float graph was exported again although the cache holds it")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mod, "_export", no_export)
        first = OnnxMiniLMEmbedder(cache_dir=cache, quantize=True)
        first.embed(["warm up"])
    assert first.exported_ and first.graph_path_ is not None and first.graph_path_.is_file()
    assert first.graph_path_.parent == cache / "onnx" and first.graph_path_.name != float_graph.name
    assert first.graph_path_.stat().st_size < float_graph.stat().st_size / 2  # int8 weights: ~1/4
    return cache


def test_int8_has_its_own_name_and_loads_nothing(tmp_path: Path) -> None:
    emb = OnnxMiniLMEmbedder(cache_dir=tmp_path / "cache", quantize=True)
    assert emb._session is None and not (tmp_path / "cache").exists()
    assert emb.name == DEFAULT_EMBEDDER_NAME + "-int8"  # other vectors: the store tells them apart
    assert OnnxMiniLMEmbedder(quantize=True, name="mine").name == "mine"
    spec = resolve_embedder("onnx-int8")
    assert isinstance(spec, OnnxMiniLMEmbedder) and spec.quantize and spec._session is None
    assert not resolve_embedder("onnx").quantize


@pytest.mark.parametrize("value", [1, "yes", None, "int8"])
def test_bad_quantize_is_a_config_error(value: object) -> None:
    with pytest.raises(ConfigError, match=r"quantize must be True .* got " + repr(value)):
        OnnxMiniLMEmbedder(quantize=value)  # type: ignore[arg-type]


def test_int8_vectors_close_to_torch(int8_cache: Path, embedder: SentenceTransformerEmbedder,
                                     data_dir: Path) -> None:
    from eagle_core.datasets import load_dataset

    emb = OnnxMiniLMEmbedder(cache_dir=int8_cache, quantize=True)
    prompts = list(PROMPTS)
    for name in ("arena_bench", "routerbench"):
        ds = load_dataset(data_dir / name)
        prompts += [ds.prompts[i] for i in np.random.default_rng(0).permutation(len(ds))[:20]]
    assert any(emb.count_tokens(p) > 256 for p in prompts)
    int8, ref = emb.embed(prompts), embedder.embed(prompts)
    assert int8.shape == ref.shape and int8.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-6)
    assert (int8 * ref).sum(axis=1).min() >= INT8_MIN_COSINE
    assert np.abs(int8 - ref).max() <= INT8_MAX_ABS
    assert np.abs(int8 - ref).max() > 1e-4  # not the float vectors: hence the other name
    one_by_one = np.vstack([emb.embed([p]) for p in prompts[:6]])  # as a route embeds
    assert np.abs(one_by_one - int8[:6]).max() <= 1e-5
    # left truncation, as in the float embedder
    vecs = emb.embed(["An entirely different preamble. " * 100 + FEW_SHOT, FEW_SHOT])
    assert np.abs(vecs[0] - vecs[1]).max() <= 1e-5


def test_int8_cached_graph_is_reused(int8_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import eagle_core._onnx_embedder as mod

    graphs = sorted((int8_cache / "onnx").glob("*.onnx"))
    assert len(graphs) == 2  # the float graph and its int8 copy, side by side
    stamps = [g.stat().st_mtime_ns for g in graphs]

    def no_build(*args: object) -> None:
        raise AssertionError("built again although the cache holds the graph")

    monkeypatch.setattr(mod, "_export", no_build)
    monkeypatch.setattr(mod, "_quantize", no_build)
    monkeypatch.setitem(sys.modules, "onnx", None)  # a warm start needs neither onnx nor torch
    second = OnnxMiniLMEmbedder(cache_dir=int8_cache, quantize=True)
    assert second.embed(["reused"]).shape == (1, 384)
    assert not second.exported_ and second.graph_path_ in graphs
    assert [g.stat().st_mtime_ns for g in graphs] == stamps
    assert sorted((int8_cache / "onnx").iterdir()) == graphs  # no temporary file left behind


def test_int8_quantizer_neither_prints_nor_configures_logging(onnx_cache: Path, tmp_path: Path,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    import logging
    import shutil

    (float_graph,) = (onnx_cache / "onnx").glob("*.onnx")
    (tmp_path / "onnx").mkdir()
    shutil.copy(float_graph, tmp_path / "onnx" / float_graph.name)
    root = logging.getLogger()
    handlers, filters = list(root.handlers), list(root.filters)
    OnnxMiniLMEmbedder(cache_dir=tmp_path, quantize=True).embed(["hello"])
    assert root.handlers == handlers and root.filters == filters
    out, err = capfd.readouterr()
    assert "quantization" not in (out + err).lower() and "pre-processing" not in out + err


def test_int8_missing_onnx_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError, match=r"embedder='onnx-int8'.*eagle-router\[onnx\]"):
        OnnxMiniLMEmbedder(cache_dir=tmp_path / "cold", quantize=True).embed(["hello"])
    assert not list((tmp_path / "cold").rglob("*.onnx"))


def test_engine_routes_with_onnx_int8(int8_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eagle_core import Eagle, EagleConfig

    monkeypatch.setenv("EAGLE_CACHE_DIR", str(int8_cache))
    eagle = Eagle({"big": 0.01, "small": 0.001}, embedder="onnx-int8", config=EagleConfig(seed=0))
    try:
        eagle.record_comparison("prove the theorem", winner="big", loser="small")
        d = eagle.route("prove this lemma", explore=False)
        assert d.model == "big"
        eagle.record_feedback(d.decision_id, score=1.0)
        assert isinstance(eagle.embedder_, OnnxMiniLMEmbedder) and eagle.embedder_.quantize
        assert not eagle.embedder_.exported_
    finally:
        eagle.close()


def test_float_store_reopened_with_int8_is_flagged(int8_cache: Path, embedder: SentenceTransformerEmbedder,
                                                   tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Not silent mixing: the store records which vectors it holds, and opening it with the other
    embedder says so (same dimension, close vectors: it still works, see docs/OPERATIONS.md)."""
    import logging

    from eagle_core import Eagle, EagleConfig

    models = {"big": 0.01, "small": 0.001}
    first = Eagle(models, embedder=embedder, path=tmp_path / "store", config=EagleConfig(seed=0))
    first.record_comparison("prove the theorem", winner="big", loser="small")
    first.close()
    with caplog.at_level(logging.WARNING, logger="eagle_core"):
        second = Eagle(models, embedder=OnnxMiniLMEmbedder(cache_dir=int8_cache, quantize=True),
                       path=tmp_path / "store", config=EagleConfig(seed=0))
        try:
            assert second.route("prove this lemma", explore=False).model == "big"
        finally:
            second.close()
    flagged = [r.getMessage() for r in caplog.records if "built with embedder" in r.getMessage()]
    assert flagged and DEFAULT_EMBEDDER_NAME + "-int8" in flagged[0]


def test_evaluation_cache_keeps_int8_vectors_apart(int8_cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """``eagle bench/replay --embedder``: torch and ONNX share cached vectors (the same to 1e-5); int8
    ones are cached under their own key, so a cached torch vector is never read as an int8 one."""
    from eagle_core.cli import build_parser
    from eagle_core.evaluation._cache import bundled_embedder

    monkeypatch.setenv("EAGLE_CACHE_DIR", str(int8_cache))
    keys = {b: bundled_embedder(b, progress=False).key for b in ("torch", "onnx", "onnx-int8")}
    assert keys["torch"] == keys["onnx"] == DEFAULT_EMBEDDER_NAME + "@trunc-left"
    assert keys["onnx-int8"] == DEFAULT_EMBEDDER_NAME + "-int8@trunc-left"
    int8 = bundled_embedder("onnx-int8", progress=False)
    int8.cache_dir = tmp_path
    question = ["What is the capital of Australia?"]
    vec = int8(question)
    direct = OnnxMiniLMEmbedder(cache_dir=int8_cache, quantize=True).embed(question)
    assert np.abs(vec - direct).max() <= 1e-6
    assert [p.name for p in tmp_path.glob("*.sqlite")] == [keys["onnx-int8"] + ".sqlite"]
    with pytest.raises(ValueError, match="backend must be one of"):
        bundled_embedder("int4")
    for command in ("bench", "replay"):
        args = build_parser().parse_args([command, "--data", "d", "--out", "o", "--embedder", "onnx-int8"])
        assert args.embedder == "onnx-int8"
