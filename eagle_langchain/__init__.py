"""eagle_langchain: Eagle routing as a LangChain chat model or Runnable, with feedback through callbacks.

``EagleChatModel`` routes chat models and is a ``BaseChatModel`` (tools, structured output, agents);
``EagleRouter`` routes any Runnables (chains, LLMs) and returns what they return.

```python
from eagle_core import Eagle
from eagle_langchain import EagleRouter, EagleFeedbackHandler

router = EagleRouter(models={"gpt-4o": chat_a, "mixtral": chat_b},
                     eagle=Eagle(models={"gpt-4o": 0.01, "mixtral": 0.0006}))
handler = EagleFeedbackHandler(router)
chain = prompt | router | StrOutputParser()
chain.invoke({"question": "..."}, config={"callbacks": [handler], "run_id": run_id})
handler.record_feedback(run_id, thumbs=True)
```
"""

from __future__ import annotations

from eagle_langchain._chat import EagleChatModel
from eagle_langchain._decision import EagleChoiceAnswer, EagleDecisionModel
from eagle_langchain._engines import register_engine
from eagle_langchain._feedback import EagleFeedbackHandler
from eagle_langchain._judge import AutoJudge, Judgement, parse_verdict
from eagle_langchain._replay import ReplayChatModel, ResponseNotFoundError
from eagle_langchain._router import CONFIGURABLE_KEYS, EagleRouter
from eagle_langchain._runs import ANSWERED_EVENT, RoutedRun
from eagle_langchain._text import DEFAULT_INPUT_KEYS, output_text, query_text

__all__ = [
    "ANSWERED_EVENT",
    "CONFIGURABLE_KEYS",
    "DEFAULT_INPUT_KEYS",
    "AutoJudge",
    "EagleChatModel",
    "EagleChoiceAnswer",
    "EagleDecisionModel",
    "EagleFeedbackHandler",
    "EagleRouter",
    "Judgement",
    "ReplayChatModel",
    "ResponseNotFoundError",
    "RoutedRun",
    "output_text",
    "parse_verdict",
    "query_text",
    "register_engine",
]
