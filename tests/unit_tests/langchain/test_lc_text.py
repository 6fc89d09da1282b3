from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from eagle_core import InvalidQueryError
from eagle_langchain import output_text, query_text


def test_str_is_routed_as_is() -> None:
    assert query_text("What is ELO?") == "What is ELO?"


def test_prompt_values_use_the_last_human_message() -> None:
    chat = ChatPromptTemplate.from_messages(
        [("system", "You are terse."), ("human", "first {q}"), ("ai", "ok"), ("human", "then {q}")]
    ).invoke({"q": "sorting"})
    assert query_text(chat) == "then sorting"
    assert query_text(PromptTemplate.from_template("say {x}").invoke({"x": "hi"})) == "say hi"


def test_message_lists_in_every_langchain_shape() -> None:
    assert query_text([SystemMessage("sys"), HumanMessage("q1"), AIMessage("a")]) == "q1"
    assert query_text([("system", "sys"), ("human", "tuple q")]) == "tuple q"
    assert query_text([{"role": "user", "content": "dict q"}]) == "dict q"
    blocks = HumanMessage(content=[{"type": "text", "text": "block "}, {"type": "text", "text": "q"}])
    assert query_text([blocks]) == "block q"
    assert query_text(HumanMessage("single")) == "single"


def test_dicts_default_keys_then_single_string_then_input_key() -> None:
    assert query_text({"question": "q", "context": "c"}) == "q"
    assert query_text({"input": "i", "question": "q"}) == "i"
    assert query_text({"topic": "only string", "n": 3}) == "only string"
    assert query_text({"topic": "t", "text": "x"}, input_key="text") == "x"
    assert query_text({"messages": [("human", "from messages")]}) == "from messages"


@pytest.mark.parametrize(
    ("value", "input_key", "fragment"),
    [
        ({"a": "x", "b": "y"}, None, "input_key"),
        ({"a": "x"}, "b", "input_key='b'"),
        ([SystemMessage("only system")], None, "no human message"),
        (42, None, "type int"),
        ([1, 2], None, "not a list of messages"),
    ],
)
def test_unroutable_inputs_raise_a_typed_error_naming_the_fix(
    value: object, input_key: str | None, fragment: str
) -> None:
    with pytest.raises(InvalidQueryError, match=fragment):
        query_text(value, input_key)


def test_output_text() -> None:
    assert output_text(AIMessage(content="hi")) == "hi"
    assert output_text("plain") == "plain"
    assert output_text(3) == "3"
