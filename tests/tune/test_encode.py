"""Rows to tokens: only the assistant's answer and its end-of-turn token are targets."""

from __future__ import annotations

import pytest

from openpick.errors import InvalidInput
from openpick.tune.dataset import Example
from openpick.tune.encode import Encoder, encode_all

TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
            "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


class CharTokenizer:
    """One token a character, except the special tokens, which are one token each."""

    chat_template = TEMPLATE
    eos_token, bos_token = "<|im_end|>", None
    specials = ["<|im_start|>", "<|im_end|>"]

    def __call__(self, text, add_special_tokens=False):
        ids, i = [], 0
        while i < len(text):
            for n, s in enumerate(self.specials):
                if text.startswith(s, i):
                    ids.append(-1 - n)
                    i += len(s)
                    break
            else:
                ids.append(ord(text[i]))
                i += 1
        return {"input_ids": ids}

    def decode(self, ids):
        return "".join(self.specials[-1 - i] if i < 0 else chr(i) for i in ids)


def _ex(*msgs):
    return Example(tuple(msgs), "t.jsonl:1")


def test_targets_are_the_answer_and_its_end_token():
    tok = CharTokenizer()
    enc = Encoder(tok, 512).encode(_ex(("system", "Route"), ("user", "Where?"),
                                       ("assistant", "shipping")))
    assert tok.decode([i for i, t in zip(enc.ids, enc.train) if t]) == "shipping<|im_end|>"
    assert tok.decode(enc.ids).endswith("<|im_start|>assistant\nshipping<|im_end|>\n")
    assert not enc.truncated


def test_every_assistant_turn_trains_and_user_turns_do_not():
    tok = CharTokenizer()
    enc = Encoder(tok, 512).encode(_ex(("user", "a"), ("assistant", "one"), ("user", "b"),
                                       ("assistant", "two")))
    assert tok.decode([i for i, t in zip(enc.ids, enc.train) if t]) == \
        "one<|im_end|>two<|im_end|>"


def test_truncation_and_rows_left_with_nothing_to_learn():
    tok = CharTokenizer()
    rows = [_ex(("user", "x" * 50), ("assistant", "ok"))]
    with pytest.raises(InvalidInput, match=r"1 training row.*--seq-len 20.*t.jsonl:1"):
        encode_all(Encoder(tok, 20), rows, "training")
    assert Encoder(tok, 70).encode(rows[0]).truncated


def test_a_model_without_chat_template_is_refused():
    tok = CharTokenizer()
    tok.chat_template = None
    with pytest.raises(InvalidInput, match="no chat template"):
        Encoder(tok, 64)
