import pytest
from typer.testing import CliRunner

from openpick.cli.main import app
from openpick.engines import config
from openpick.engines.config import ModelEntry
from openpick.errors import NotFound
from openpick.chat import ChatSession
from openpick.store.conversations import ConversationStore


def test_switching_models_keeps_history_and_records_authors():
    s = ChatSession("fake:from A", system="be nice")
    s.send("first question")
    s.switch("fake:echo")
    r = s.send("second question")
    assert r.text == "second question"
    # the second model saw the whole conversation, including the first model's answer
    conv = s.store.get(s.id)
    roles = [(m.role, m.content, m.model) for m in conv.messages]
    assert roles == [("system", "be nice", None), ("user", "first question", None),
                     ("assistant", "from A", "fake:from A"),
                     ("user", "second question", None),
                     ("assistant", "second question", "fake:echo")]
    assert [m.role for m in s.messages()] == ["system", "user", "assistant", "user", "assistant"]
    s.close()


def test_history_is_sent_to_the_new_model():
    s = ChatSession("fake:one")
    s.send("q1")
    s.switch("fake:two")
    with s.pool.use("fake:two") as e:
        pass
    s.send("q2")
    with s.pool.use("fake:two") as e:
        sent = e.calls[-1].messages
    assert [(m.role, m.content) for m in sent] == [("user", "q1"), ("assistant", "one"),
                                                  ("user", "q2")]


def test_unknown_model_keeps_current():
    s = ChatSession("fake:a")
    with pytest.raises(NotFound):
        s.switch("no-such-model")
    assert s.model == "fake:a"


def test_reset_and_save():
    s = ChatSession("fake:x")
    s.send("hi")
    first = s.id
    s.reset()
    assert s.id != first and s.history == []
    s.save("title")
    store = ConversationStore()
    listed = {c.id: c for c in store.list()}
    assert listed[s.id].saved and listed[s.id].title == "title" and not listed[first].saved
    with pytest.raises(NotFound):
        store.get("nope")


def test_chat_repl_switches_models():
    config.add_model("alt", ModelEntry(engine="fake", path="echo"))
    script = "/help\nhello there\n/model alt\nagain\n/model missing-model\n/system short\n/models\n/save demo\n/quit\n"
    out = CliRunner().invoke(app, ["chat", "-m", "fake:first answer"], input=script)
    assert out.exit_code == 0, out.output
    text = out.output
    assert "[fake:first answer] first answer" in text
    assert "switched to alt" in text and "[alt] again" in text
    assert "unknown model 'missing-model'" in text
    assert "saved conversation" in text and "smollm2-135m" in text
    listed = CliRunner().invoke(app, ["chat", "--list", "--json"])
    assert '"title": "demo"' in listed.output
