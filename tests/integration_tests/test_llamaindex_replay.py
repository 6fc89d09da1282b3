"""EagleLLM over RouterBench: replayed real answers, feedback from the dataset's grades.

Needs the shared data (EAGLE_DATA_DIR): fails in CI when missing, skips elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from eagle_core import Eagle, EagleConfig
from eagle_core.datasets import load_dataset
from eagle_llamaindex import MODEL_KEY, EagleLLM, ReplayLLM

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/mistral-7b-chat"

pytestmark = pytest.mark.data


async def test_grades_as_feedback_route_to_the_stronger_model(
    data_dir: Path, make_eagle: Callable[..., Eagle]
) -> None:
    ds = load_dataset("routerbench", data_dir).sample_per_subset(8, seed=0)
    cols = [ds.models.index(STRONG), ds.models.index(WEAK)]
    replays = ReplayLLM.from_dataset(ds)
    # the share explored is paced by the ratings that come back (EagleConfig.explore_share): the
    # 8 unrated test routes may explore up to 29 % of all routes, so an explored WEAK pick there is
    # allowed behaviour; the learning claim is the ranking's, checked with a fixed 20 % share
    llm = EagleLLM(llms={STRONG: replays[STRONG], WEAK: replays[WEAK]},
                   eagle=make_eagle({STRONG: 0.01, WEAK: 0.0002},
                                    config=EagleConfig(seed=0, max_explore_share=0.2)))
    order = np.random.RandomState(0).permutation(len(ds))
    train, test = order[:16], order[16:]

    for i in train:
        response = llm.complete(ds.prompts[i])
        chosen = response.additional_kwargs[MODEL_KEY]
        assert response.text == replays[chosen].responses[ds.prompts[i]]  # the routed model's answer
        grades = dict(zip((STRONG, WEAK), map(float, ds.scores[i, cols]), strict=True))
        llm.record_feedback(response, scores=grades)

    assert llm.eagle.leaderboard().rows[0].model == STRONG
    picks = [(await llm.acomplete(ds.prompts[i])).additional_kwargs[MODEL_KEY] for i in test]
    assert picks.count(STRONG) >= 0.7 * len(test), picks
