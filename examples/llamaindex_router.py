"""Route LlamaIndex query engines with Eagle, and watch feedback change the routing.

Two query engines answer questions about a small handbook: "precise" (a vector index answered by
gpt-4o) and "cheap" (a summary index answered by mixtral). Both LLMs replay recorded answers, so
this runs offline in seconds. EagleSelector starts on the cheaper engine; a grader's feedback on
each answer moves the routing. Now and then Eagle *explores* (serves the engine that is not
ranked first, to learn whether it is better there); such picks are marked "explored". The
exploration is seeded (``EagleConfig(seed=0)``), so every run prints the same. Then
``Settings.llm = EagleLLM(...)`` routes a plain query engine call by call, with an automatic judge
comparing answers in the background.

    python examples/llamaindex_router.py
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from typing import Any  # noqa: E402

from llama_index.core import Document, Settings, SummaryIndex, VectorStoreIndex  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.core.query_engine import RouterQueryEngine  # noqa: E402
from llama_index.core.tools import QueryEngineTool  # noqa: E402

from eagle_core import Eagle, EagleConfig  # noqa: E402
from eagle_llamaindex import (  # noqa: E402
    MODEL_KEY,
    EagleEmbedding,
    EagleLLM,
    EagleSelector,
    ReplayLLM,
)

HANDBOOK = [
    "Employees get 25 days of paid leave per year; unused days expire on March 31.",
    "Expenses above 500 EUR need a manager's approval before purchase.",
    "Remote work is allowed three days a week; Tuesdays are office days for every team.",
    "The on-call engineer is paged for incidents of severity 1 and 2 only.",
]

# question -> (right answer, cheap model's answer). The cheap model gets the multi-step ones wrong.
QA = {
    "How many days of paid leave do employees get?": ("25 days per year.", "25 days per year."),
    "Which incidents page the on-call engineer?": ("Severity 1 and 2.", "Severity 1 and 2."),
    "If I have 10 unused leave days on April 1, how many are left?":
        ("None: unused days expired on March 31.", "10 days."),
    "Can I buy a 600 EUR monitor and claim it later without asking?":
        ("No: above 500 EUR you need approval before buying.", "Yes, claim it later."),
    "Can my team work remotely on Tuesday and Wednesday of the same week?":
        ("Wednesday yes, Tuesday no: Tuesdays are office days.", "Yes, both days."),
}
NEW_QUESTIONS = [
    "If I have 3 unused leave days in April, can I still take them?",
    "How many paid leave days are there in a year?",
]


def build(eagle: Eagle) -> tuple[RouterQueryEngine, EagleSelector, dict[str, ReplayLLM],
                               VectorStoreIndex]:
    gpt4o = ReplayLLM(model="gpt-4o", responses={q: a for q, (a, _) in QA.items()},
                      default="It depends on the handbook section.")
    mixtral = ReplayLLM(model="mixtral", responses={q: b for q, (_, b) in QA.items()},
                        default="Probably yes.")
    docs = [Document(text=t) for t in HANDBOOK]
    vector = VectorStoreIndex.from_documents(docs)
    tools = [
        QueryEngineTool.from_defaults(
            vector.as_query_engine(llm=gpt4o, similarity_top_k=2),
            name="precise", description="Careful answers from the most relevant passages."),
        QueryEngineTool.from_defaults(
            SummaryIndex.from_documents(docs).as_query_engine(llm=mixtral),
            name="cheap", description="Fast answers from the whole handbook."),
    ]
    selector = EagleSelector(eagle, tool_models={"precise": "gpt-4o", "cheap": "mixtral"})
    engine = RouterQueryEngine(selector=selector, query_engine_tools=tools)
    return engine, selector, {"gpt-4o": gpt4o, "mixtral": mixtral}, vector


def grade(question: str, answer: str) -> bool:
    """The 'user': is the answer the right one?"""
    right = QA.get(question, (None,))[0]
    return right is not None and answer == right


def main(embedder: Any = None) -> dict[str, list[str]]:
    """Run the demo; returns the engine picked per question in each round and, under
    "<round> ranked first", the engine the ranking put first (used by the tests)."""
    eagle = Eagle({"gpt-4o": 0.01, "mixtral": 0.0005}, embedder=embedder, config=EagleConfig(seed=0))
    # The index embeds with Eagle's own MiniLM and text cache: each question is embedded once.
    Settings.embed_model = EagleEmbedding(embedder=eagle.embed)
    Settings.llm = MockLLM()  # nothing may fall back to OpenAI
    engine, selector, llms, vector = build(eagle)

    picks: dict[str, list[str]] = {}
    for round_no in (1, 2):
        served, first = picks.setdefault(f"round {round_no}", []), []
        picks[f"round {round_no} ranked first"] = first
        print(f"\n== round {round_no} ==")
        for question in QA:
            response = engine.query(question)
            chosen = response.metadata["selector_result"]
            served.append(chosen.choice)
            first.append(next(iter(chosen.scores)))  # scores are listed best first
            ok = grade(question, str(response))
            mark = " (explored)" if chosen.explored else ""
            print(f"{chosen.choice:>8} | {'right' if ok else 'WRONG'} | {question}{mark}")
            selector.record_feedback(response, thumbs=ok)  # the user rates the answer served

    print("\n== unseen questions ==")
    picks["unseen"] = []
    for question in NEW_QUESTIONS:
        chosen = engine.query(question).metadata["selector_result"]
        picks["unseen"].append(chosen.choice)
        print(f"{chosen.choice:>8} | {question}  ({chosen.reason})")

    print("\n== Settings.llm = EagleLLM: every LLM call is routed ==")
    judge = lambda query, a, b: "a" if grade(query, a) else "b" if grade(query, b) else "tie"  # noqa: E731
    router_llm = EagleLLM(llms=llms, eagle=eagle, judge=judge, judge_probability=0.5,
                          judge_seed=7)
    Settings.llm = router_llm
    plain = vector.as_query_engine(streaming=True)  # no llm=: it uses Settings.llm
    for question in list(QA)[2:]:
        streamed = plain.query(question)
        text = "".join(streamed.response_gen)
        router_llm.record_feedback(streamed, thumbs=grade(question, text))  # the response's decision
        print(f"{router_llm.decision_for(streamed).model:>8} | {text!r}")
    done = router_llm.wait_for_judgements(timeout=30)
    print(f"{len(done)} background judgements: {[j.outcome for j in done]}")
    print("answer tagged with", router_llm.complete(NEW_QUESTIONS[0]).additional_kwargs[MODEL_KEY])
    router_llm.close()
    print("\n" + str(eagle.leaderboard()))
    return picks


if __name__ == "__main__":
    main()
