"""Generation settings as one Sampling: the chat session sends its own, and the CLI's
options become a Sampling with a one-line error for a bad value."""

from __future__ import annotations

import pytest

from openpick.chat import ChatSession
from openpick.cli.main import main
from openpick.engines.base import Sampling


def test_session_sends_its_sampling():
    s = ChatSession("fake:echo", sampling=Sampling(max_tokens=2, temperature=0.5, seed=7))
    try:
        assert s.send("one two three four").text == "one two"
        with s.pool.use("fake:echo") as engine:
            sent = engine.calls[-1]
        assert (sent.max_tokens, sent.temperature, sent.seed) == (2, 0.5, 7)
    finally:
        s.close()


@pytest.mark.parametrize("argv, message", [
    (["ask", "-m", "fake:echo", "-n", "0", "hi"],
     "error: --max-tokens: Input should be greater than or equal to 1, got 0"),
    (["ask", "-m", "fake:echo", "--top-p", "1.5", "hi"],
     "error: --top-p: Input should be less than or equal to 1, got 1.5"),
    (["chat", "-m", "fake:echo", "--temperature", "-1"],
     "error: --temperature: Input should be greater than or equal to 0, got -1.0"),
])
def test_bad_generation_option_is_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code != 0
    assert capsys.readouterr().err.strip() == message
