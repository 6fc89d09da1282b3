"""The README, executed: every ```python block of README.md runs, so a snippet that fails as written
fails CI.

How the snippets run (the rules a README author can rely on):

* blocks run in order in one namespace, like a notebook session, inside an empty temporary
  directory (so ``path="./eagle-data"`` is a fresh store); top-level ``await`` works as in a notebook
  or ``python -m asyncio``;
* the engine is real (Chroma, the bundled MiniLM embedder); only the LLMs are fakes;
* a snippet that uses names it does not define gets them from the documented prelude below (picked
  by the package the block imports): LangChain fake chat models ``chat_a`` / ``chat_b`` (text
  answers), Runnables ``chain_a`` / ``chain_b``, a ``prompt``, ``StrOutputParser``, a ``multiply``
  tool (also as ``tools``), a ``Person`` schema and a ``run_id``; LlamaIndex ``MockLLM``s
  ``llm_a`` / ``llm_b`` and some ``docs``. Nothing else is injected: a missing import or a wrong
  call fails the test.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eagle_core import Eagle

README = Path(__file__).resolve().parents[2] / "README.md"

PRELUDES = {
    "eagle_langchain": """
import itertools, uuid
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from pydantic import BaseModel

class FakeChat(GenericFakeChatModel):
    def bind_tools(self, tools, **kwargs):  # answers in text: an agent's turn ends in one step
        return self

def fake_chat(text):
    return FakeChat(messages=itertools.cycle([AIMessage(content=text)]))

@tool
def multiply(a: int, b: int) -> int:
    \"\"\"Multiply two integers.\"\"\"
    return a * b

class Person(BaseModel):
    name: str

chat_a, chat_b = fake_chat("gpt-4o: 42"), fake_chat("mixtral: 42")
chain_a = RunnableLambda(lambda x: "gpt-4o: use reversed() or slicing")
chain_b = RunnableLambda(lambda x: "mixtral: xs[::-1]")
prompt = ChatPromptTemplate.from_template("{question}")
tools = [multiply]
run_id = uuid.uuid4()
""",
    "eagle_llamaindex": """
from llama_index.core import Document
from llama_index.core.llms import MockLLM

llm_a, llm_b = MockLLM(max_tokens=8), MockLLM(max_tokens=4)
docs = [Document(text="In Python, reversed(xs) and xs[::-1] reverse a list.")]
""",
}
"""Word in a block -> code run before that block, giving the fakes the snippet assumes."""


@dataclass(frozen=True)
class Snippet:
    line: int
    code: str

    def preludes(self) -> list[str]:
        return [code for word, code in PRELUDES.items() if word in self.code]


class SnippetError(AssertionError):
    def __init__(self, snippet: Snippet, cause: BaseException) -> None:
        super().__init__(f"README.md line {snippet.line}: the snippet fails as written: {cause!r}")
        self.cause = cause


def snippets(text: str) -> list[Snippet]:
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        found.append(Snippet(text[: match.start()].count("\n") + 2, match.group(1)))
    return found


def run(snippet: Snippet, namespace: dict[str, Any]) -> None:
    for prelude in snippet.preludes():
        exec(compile(prelude, f"<prelude of README.md:{snippet.line}>", "exec"), namespace)
    # blank lines keep the README's line numbers in tracebacks
    source = "\n" * (snippet.line - 1) + snippet.code
    code = compile(source, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    try:
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            asyncio.run(result)
    except Exception as exc:
        raise SnippetError(snippet, exc) from exc


def close_engines(namespace: dict[str, Any]) -> None:
    for value in namespace.values():
        if isinstance(value, Eagle):
            value.close()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory; LlamaIndex's global Settings restored afterwards."""
    from llama_index.core import Settings

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    saved = (Settings._llm, Settings._embed_model)
    yield tmp_path
    Settings._llm, Settings._embed_model = saved


def test_the_readme_has_its_snippets() -> None:
    found = snippets(README.read_text())
    assert len(found) >= 3
    assert "Eagle(" in found[0].code and "path=" in found[0].code  # the 30-second tour
    assert any("eagle_langchain" in s.code for s in found)
    assert any("EagleSelector" in s.code and "tool_models" in s.code for s in found)


def test_the_extraction_keeps_line_numbers() -> None:
    text = "intro\n\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\nraise KeyError('y')\n```\n"
    first, second = snippets(text)
    assert (first.line, first.code, second.line) == (4, "x = 1\n", 11)
    with pytest.raises(SnippetError, match=r"line 11: .*KeyError\('y'\)"):
        run(second, {})


def test_every_python_snippet_runs(in_tmp: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    try:
        for snippet in snippets(README.read_text()):
            run(snippet, namespace)
    finally:
        close_engines(namespace)


_TOUR_PROCESS = """
import sys
sys.path.insert(0, sys.argv[1])
from test_readme import README, close_engines, run, snippets
namespace = {"__name__": "__readme__"}
try:
    run(snippets(README.read_text())[0], namespace)
    print("n_feedback", namespace["eagle"].n_feedback)
finally:
    close_engines(namespace)
"""


def test_the_tour_runs_twice_on_the_same_path(in_tmp: Path) -> None:
    """A user re-running the tour script: the second process opens the store the first one wrote."""
    feedback = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", _TOUR_PROCESS, str(Path(__file__).parent)],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        feedback.append(int(done.stdout.split("n_feedback")[-1]))
    assert feedback[1] > feedback[0] > 0  # the second run starts from the first run's feedback
