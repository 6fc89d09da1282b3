"""EagleRouter over RouterBench: replayed real answers in a LangChain chain, feedback from grades,
and the two example scripts (``make demo`` and examples/langchain_router.py) on small subsets.

Needs the shared data (EAGLE_DATA_DIR): fails in CI when missing, skips elsewhere.
"""

from __future__ import annotations

import importlib.util
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from eagle_core import Eagle
from eagle_core.datasets import load_dataset
from eagle_langchain import EagleFeedbackHandler, EagleRouter, ReplayChatModel

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/mistral-7b-chat"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.data
def test_chain_answers_with_the_routed_models_recording_and_learns_from_grades(
    data_dir: Path, make_eagle: Callable[..., Eagle]
) -> None:
    ds = load_dataset("routerbench", data_dir).sample_per_subset(8, seed=0)
    cols = [ds.models.index(STRONG), ds.models.index(WEAK)]
    replays = ReplayChatModel.from_dataset(ds)
    eagle = make_eagle({STRONG: 0.01, WEAK: 0.0002})
    router = EagleRouter(models={STRONG: replays[STRONG], WEAK: replays[WEAK]}, eagle=eagle)
    handler = EagleFeedbackHandler(router)
    chain = ChatPromptTemplate.from_messages([("human", "{prompt}")]) | router | StrOutputParser()

    for i in np.random.RandomState(0).permutation(len(ds)):
        run_id = uuid.uuid4()
        answer = chain.invoke({"prompt": ds.prompts[i]}, config={"callbacks": [handler], "run_id": run_id})
        model = handler.get_run(run_id).model
        assert answer == replays[model].responses[ds.prompts[i]]  # the routed model's real answer
        handler.record_feedback(run_id, score=float(ds.scores[i, cols[[STRONG, WEAK].index(model)]]))
    assert eagle.n_feedback == len(ds)
    # gpt-4 is right far more often than mistral-7b on RouterBench: the grades must show it.
    assert eagle.ratings[STRONG] > eagle.ratings[WEAK]


@pytest.mark.data
def test_demo_runs_on_a_small_subset(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    demo = _example("demo")
    plot = tmp_path / "demo.png"
    assert demo.main(["--steps", "60", "--warm", "5", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "Eagle (LangChain chain, served-answer feedback)" in out and "best single model" in out
    assert "Explored answers" in out and "of 60; 5 prompts had every grade, 55 only the served one" in out
    assert "from one model" in out or "No single model reaches" in out
    assert "best single model affordable" in out  # the default run is paced to a budget
    spent = re.search(r"Budget: Eagle spent ([0-9.]+)% of the target .* \(overshoot ([0-9.]+)%\)", out)
    assert spent and 0 < float(spent[1]) and float(spent[2]) <= 0.5
    assert re.search(r"Eagle (beats|does not beat) the best single model affordable", out)
    assert plot.stat().st_size > 10_000
    assert demo.main(["--steps", "40", "--warm", "5", "--wtp", "0.0228", "--plot", str(plot)]) == 0
    assert "utility/1k" in capsys.readouterr().out  # or priced at a willingness to pay


@pytest.mark.data
def test_demo_counts_feedback_as_production_does(data_dir: Path) -> None:
    """The chain router is told the served answer's grade only (the harness's partial feedback)."""
    from eagle_core.evaluation import CachedEmbedder
    from eagle_core.replay import SCENARIOS, build_stream, prepare, replay

    demo = _example("demo")
    ds = load_dataset("routerbench", data_dir).sample_per_subset(10, seed=0)
    embedder = CachedEmbedder(progress=False)
    prep = prepare(build_stream(ds, embedder(list(ds.prompts)), seed=0), SCENARIOS["cold"], wtp=0.0228)
    router = demo.make_eagle_router(ds, embedder)
    trace = replay(router, prep, seed=0)
    assert router.eagle.n_feedback == len(ds) == len(trace.chosen)
    assert not any(router.runs.values())  # every served answer's run got its grade


@pytest.mark.data
def test_langchain_example_runs(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert _example("langchain_router").main(n_train=40, n_test=2) == 0
    out = capsys.readouterr().out
    assert out.count("routed to") == 2 and "budget $0.0002/call" in out


def test_demo_without_data_exits_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EAGLE_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as info:
        _example("demo").main([])
    assert info.value.code != 0 and "EAGLE_DATA_DIR" in str(info.value.code)
