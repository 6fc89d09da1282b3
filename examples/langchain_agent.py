"""A LangChain v1 agent whose model Eagle picks per run, through ``ModelRouterMiddleware``.

``create_agent`` with tools; ``ModelRouterMiddleware(classifier=EagleDecisionModel(eagle))`` routes
each run's latest human message to one of two chat models from the feedback Eagle has learned (no
LLM call to classify), keeps that model for every tool-calling step of the run, and the user's
verdict on the run (the served answer beat the other model's, or lost to it) goes back to the
engine by the agent's run id (``thumbs=`` works too; a thumb moves only the rated model, by a
larger step while it is little rated, docs/METHOD.md). Last, the same agent with the router
itself as its model (``EagleChatModel``), for comparison.

The two chat models are offline fakes that call tools deterministically (``ToolFakeChat`` from
the test helpers): put ``ChatOpenAI(model="gpt-4o")`` and ``ChatOpenAI(model="gpt-4o-mini")``
(or any tool-calling chat models) in their place. Runs in ~30 s, mostly loading MiniLM.

    python examples/langchain_agent.py
"""

from __future__ import annotations

import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ModelChoice, ModelRouterMiddleware
from langchain_core.tools import tool

from eagle_core import Eagle, EagleConfig
from eagle_langchain import EagleChatModel, EagleDecisionModel, EagleFeedbackHandler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit_tests" / "langchain"))
from lc_fakes import ToolFakeChat  # noqa: E402  (offline stand-in for a real chat model)

warnings.filterwarnings("ignore", message=".*ModelRouterMiddleware.*beta")

VEHICLES = ["A train", "A ship", "A cyclist", "A car", "A plane", "A runner"]
PAST_HARD = [f"{v} covers {speed} km per hour; multiply to find the distance in {hours} hours"
             for v, speed, hours in zip(VEHICLES * 4, range(20, 400, 16), [2, 3, 5, 7] * 6, strict=True)]
PAST_EASY = ["hi there!", "thanks, that was helpful", "good morning", "say hello to my friend",
             "what a nice day", "bye for now", "how are you?", "nice to meet you", "see you later",
             "have a great weekend", "cheers!", "good night", "hey, what's up?", "thank you kindly",
             "lovely weather today", "happy birthday!", "welcome back", "take care",
             "congratulations!", "sorry, my mistake", "hello again", "great, thanks", "ok, got it",
             "good afternoon"]
NEW = ["A boat covers 42 km per hour; multiply to find the distance in 6 hours",
       "hello, good evening!",
       "A truck covers 65 km per hour; multiply to find the distance in 4 hours",
       "many thanks, see you soon"]


@tool
def multiply(a: float, b: float) -> float:
    """Multiply a by b."""
    return a * b


def models() -> tuple[ToolFakeChat, ToolFakeChat]:
    """Stand-ins for two real tool-calling chat models (a strong, dear one and a cheap one)."""
    big, small = (ToolFakeChat(name=name, text=f"{name}: happy to help!", named_tools_only=True)
                  for name in ("big", "small"))
    return big, small


def build(eagle: Eagle) -> Any:
    """The agent: one chat model per run, chosen by Eagle among two labelled choices."""
    big, small = models()
    router = ModelRouterMiddleware(
        choices={
            "big": ModelChoice(model=big, criteria="Multi-step reasoning and tool use."),
            "small": ModelChoice(model=small, criteria="Chit-chat and one-line answers."),
        },
        instructions="Pick the model most likely to give the answer the user prefers.",
        classifier=EagleDecisionModel(eagle=eagle),  # labels are the engine's model names
    )
    return create_agent(small, tools=[multiply], middleware=[router])


def run(agent: Any, handler: EagleFeedbackHandler, question: str, **config: Any) -> dict[str, Any]:
    """One agent run on ``question``: its route, answer and run id."""
    run_id = uuid.uuid4()
    state = agent.invoke({"messages": [("human", question)]},
                         config={"run_id": run_id, "callbacks": [handler], **config})
    route = state["model_route"]
    steps = sum(1 for m in state["messages"] if m.type == "ai")
    print(f"{question[:48]!r:52} -> {route.choice:5} (P {route.probabilities['big']:.3f} big / "
          f"{route.probabilities['small']:.3f} small), {steps} model step(s): "
          f"{state['messages'][-1].content!r}")
    return {"run_id": run_id, "route": route, "messages": state["messages"]}


def main(embedder: Any = None) -> dict[str, Any]:
    """Run the demo; ``embedder`` defaults to the bundled MiniLM (tests pass theirs)."""
    # USD/call, in memory; explore=False serves the ranking's choice so this demo prints the same
    # routes every run (in production leave exploration on: it tries uncertain models now and then)
    eagle = Eagle(models={"big": 0.01, "small": 0.0005}, embedder=embedder,
                  config=EagleConfig(explore=False))
    agent = build(eagle)
    handler = EagleFeedbackHandler(eagle)

    print("Before any feedback Eagle cannot tell the models apart (uniform probabilities):")
    first = run(agent, handler, PAST_HARD[0])

    # Feedback from earlier runs: big's tool answers won the word problems; small's replies were as
    # good on chit-chat, and cheaper (a real deployment gets these from users or an AutoJudge).
    eagle.record_many([{"query": q, "winner": "big", "loser": "small"} for q in PAST_HARD]
                      + [{"query": q, "winner": "small", "loser": "big"} for q in PAST_EASY],
                      progress=False)
    print(f"\nAfter {eagle.n_feedback} past comparisons, new questions, each rated by its agent run id:")
    runs = []
    for question in NEW:
        done = run(agent, handler, question)
        wanted = "big" if "multiply" in question else "small"
        chosen = done["route"].choice  # a comparison: the chosen model's answer beat the other's, or not
        other = "small" if chosen == "big" else "big"
        verdict = {"worse": other} if chosen == wanted else {"better": other}
        handler.record_feedback(done["run_id"], **verdict)
        runs.append(done)

    print("\nA word problem with a budget of $0.001 per call (config['configurable']):")
    cheap = run(agent, handler, runs[0]["messages"][0].content,
                configurable={"eagle_budget": 0.001})
    print("\nThe router as the agent's model instead (EagleChatModel: routes every new human message,")
    print("keeps that model for the turn's tool steps, names it in response_metadata['eagle']):")
    chat_router = EagleChatModel(models=dict(zip(("big", "small"), models(), strict=True)),
                                 eagle=eagle)
    agent_on_router = create_agent(chat_router, tools=[multiply])
    routed = []
    for question in NEW[:2]:
        run_id = uuid.uuid4()
        state = agent_on_router.invoke({"messages": [("human", question)]},
                                       config={"run_id": run_id, "callbacks": [handler]})
        answered = [m.response_metadata["eagle"]["model"] for m in state["messages"] if m.type == "ai"]
        print(f"{question[:48]!r:52} -> {answered} ({state['messages'][-1].content!r})")
        handler.record_feedback(run_id, worse="small" if answered[0] == "big" else "big")  # it won
        routed.append(answered)
    print(f"\nGlobal ratings: { {m: round(r, 1) for m, r in eagle.ratings.items()} }, "
          f"{eagle.n_feedback} feedback events")
    return {"first": first, "runs": runs, "cheap": cheap, "routed": routed, "eagle": eagle}


if __name__ == "__main__":
    main()
