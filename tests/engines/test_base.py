import pytest

from openpick.engines.base import Message, Request, StopMatcher
from openpick.engines.fake import FakeEngine
from openpick.errors import InvalidInput


def test_request_needs_exactly_one_input():
    with pytest.raises(ValueError):
        Request()
    with pytest.raises(ValueError):
        Request(prompt="a", messages=[Message(role="user", content="b")])
    r = Request.chat("hi", system="be brief")
    assert [m.role for m in r.messages] == ["system", "user"]


def test_complete_measures_and_streams():
    engine = FakeEngine("the answer is forty two")
    seen = []
    result = engine.complete(Request.chat("q"), on_delta=lambda d: seen.append(d.text))
    assert result.text == "the answer is forty two" == "".join(seen)
    assert result.finish_reason == "stop"
    assert result.usage.completion_tokens == 5
    assert result.usage.prompt_tokens == 1
    t = result.timings
    assert t.ttft_s is not None and 0 <= t.ttft_s <= t.total_s
    assert t.decode_tok_s is not None and t.decode_tok_s > 0
    assert result.model.engine == "fake"


def test_max_tokens_gives_length():
    result = FakeEngine("one two three four").complete(Request(prompt="x", max_tokens=2))
    assert result.text == "one two"
    assert result.finish_reason == "length"


def test_stop_string_is_never_emitted():
    result = FakeEngine("Paris. Then more text").complete(Request(prompt="x", stop=["."]))
    assert result.text == "Paris"
    assert result.finish_reason == "stop"


@pytest.mark.parametrize("pieces,stops,expected", [
    (["ab", "c<", "/s", ">tail"], ["</s>"], ("abc", True)),
    (["a<", "b"], ["</s>"], ("a<b", False)),
    (["x", "y"], [], ("xy", False)),
    (["END"], ["END", "N"], ("", True)),
])
def test_stop_matcher_holds_back_prefixes(pieces, stops, expected):
    m = StopMatcher(stops)
    out, stopped = "", False
    for p in pieces:
        o, stopped = m.feed(p)
        out += o
        if stopped:
            break
    if not stopped:
        out += m.flush()
    assert (out, stopped) == expected


def test_unknown_option_is_one_line_error():
    with pytest.raises(InvalidInput, match="option nope"):
        FakeEngine("x", {"nope": 1})


def test_replies_in_turn_and_close():
    with FakeEngine("echo", {"replies": ["a", "b"]}) as e:
        assert [e.complete(Request(prompt="q")).text for _ in range(3)] == ["a", "b", "a"]
    assert e.closed


def test_echo():
    assert FakeEngine("echo").complete(Request.chat("hello there")).text == "hello there"
