"""EagleRouter in a LangChain chain, on a few RouterBench prompts answered by 11 replayed LLMs.

Shows: the routed chain, the decision in tracing metadata, token streaming, feedback by run id,
per-call options (force a model, a budget) and astream_events. Runs offline in seconds (the real
recorded answers are replayed; prompt embeddings are cached on disk after the first run).

    python examples/langchain_router.py
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import numpy as np
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from eagle_core import Eagle
from eagle_core.datasets import DatasetError, load_dataset
from eagle_core.evaluation import CachedEmbedder
from eagle_langchain import EagleFeedbackHandler, EagleRouter, ReplayChatModel


def main(n_train: int = 150, n_test: int = 4) -> int:
    try:
        ds = load_dataset("routerbench")
    except DatasetError as exc:
        sys.exit(f"this example needs the RouterBench data (set EAGLE_DATA_DIR): {exc}")
    train, test = ds.split(seed=42)
    rng = np.random.RandomState(0)
    train, test = rng.choice(train, n_train, replace=False), rng.choice(test, n_test, replace=False)
    models = list(ds.models)

    # The engine: real costs per call, feedback from a small labelled set of training prompts.
    eagle = Eagle(
        models={m: float(c) for m, c in zip(models, ds.mean_costs(train), strict=True)},
        embedder=CachedEmbedder(truncation="left", progress=False),
    )
    eagle.record_many(
        [{"query": ds.prompts[i], "scores": dict(zip(models, map(float, ds.scores[i]), strict=True))}
         for i in train],
        progress=False,
    )

    # 11 chat models answering with their real recorded responses.
    router = EagleRouter(models=ReplayChatModel.from_dataset(ds.select(test)), eagle=eagle)
    handler = EagleFeedbackHandler(router)
    chain = ChatPromptTemplate.from_messages([("human", "{prompt}")]) | router | StrOutputParser()

    column = {m: j for j, m in enumerate(models)}
    for row in test:
        run_id = uuid.uuid4()
        answer = chain.invoke({"prompt": ds.prompts[row]},
                              config={"callbacks": [handler], "run_id": run_id})
        decision = handler.get_decision(run_id)
        grade = float(ds.scores[row, column[decision.model]])
        top3 = ", ".join(f"{s.model} {s.normalized:.2f}" for s in decision.ranking[:3])
        print(f"\n[{ds.subsets[row]}] ...{ds.prompts[row][-90:]!r}")
        print(f"  routed to {decision.model} (ranking: {top3}); answer {answer[:60]!r}; grade {grade}")
        handler.record_feedback(run_id, score=grade)  # the grade is the user's feedback

    prompt = {"prompt": ds.prompts[test[0]]}
    print("\nStreaming tokens from the chosen model:")
    for token in chain.stream(prompt):
        print(token, end="|", flush=True)
    print("\n\nPer-call options:")
    forced = chain.invoke(prompt, config={"configurable": {"eagle_model": "mistralai/mistral-7b-chat"}})
    print(f"  forced mistral-7b-chat: {forced[:60]!r}")
    cheap = uuid.uuid4()
    chain.invoke(prompt, config={"configurable": {"eagle_budget": 0.0002}, "callbacks": [handler],
                                 "run_id": cheap})
    print(f"  budget $0.0002/call -> {handler.get_decision(cheap).model}")

    async def events() -> None:
        async for event in chain.astream_events(prompt, version="v2"):
            if event["event"] == "on_chain_start" and event["name"] == "EagleRouter":
                decision = event["metadata"]["eagle_decision"]
                print(f"\nastream_events: router run metadata says {decision['model']}, "
                      f"decision {decision['decision_id'][:8]}...")

    asyncio.run(events())
    print("\nLeaderboard after the feedback:")
    print(eagle.leaderboard())
    return 0


if __name__ == "__main__":
    sys.exit(main())
