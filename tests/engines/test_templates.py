"""A chat template inside a model file is untrusted (CVE-2024-34359): it must not escape."""

import pytest

from openpick.engines.base import Message
from openpick.engines.templates import render_chat
from openpick.errors import InvalidInput

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
MSGS = [Message(role="system", content="S"), Message(role="user", content="Hi")]


def test_renders_chatml():
    out = render_chat(CHATML, MSGS)
    assert out == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_bos_and_raise_exception():
    assert render_chat("{{ bos_token }}x", MSGS, bos_token="<s>") == "<s>x"
    with pytest.raises(InvalidInput, match="roles must alternate"):
        render_chat("{{ raise_exception('roles must alternate') }}", MSGS)


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch {marker}') }}",
    "{{ joiner.__init__.__globals__['os'].popen('touch {marker}').read() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch {marker}') }}",
    "{{ messages.append({'role': 'user'}) }}",
    "{% set x = namespace().__class__.__base__.__subclasses__() %}{{ x }}",
])
def test_malicious_templates_cannot_escape(payload, tmp_path):
    marker = tmp_path / "pwned"
    template = payload.replace("{marker}", str(marker))
    with pytest.raises(InvalidInput):
        render_chat(template, MSGS)
    assert not marker.exists()


def test_syntax_error_is_one_line():
    with pytest.raises(InvalidInput, match="chat template failed"):
        render_chat("{% for %}", MSGS)
