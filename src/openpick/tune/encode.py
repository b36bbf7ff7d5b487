"""Rows to token ids, with a mask that trains on the assistant's tokens only.

Each assistant turn is rendered the way the engines will see it at inference: the chat so
far through the model's own template with the generation prompt (openpick's sandboxed
renderer, engines/templates.py), tokenized as one piece like the engine's prompt, then the
assistant's text up to and including the end-of-turn token, which is what the model must
learn to produce (and to stop with). Text the template adds after the end-of-turn token (a
newline) and every prompt token are context only.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpick.engines.base import Message
from openpick.engines.templates import render_chat
from openpick.errors import InvalidInput
from openpick.tune.dataset import Example


@dataclass
class Encoded:
    ids: list[int]
    train: list[bool]     # True where the token is a target (an assistant token)
    truncated: bool = False

    @property
    def n_target(self) -> int:
        return sum(self.train)


class Encoder:
    def __init__(self, tokenizer, seq_len: int):
        self.tok = tokenizer
        self.seq_len = seq_len
        self.template = getattr(tokenizer, "chat_template", None)
        if not self.template:
            raise InvalidInput("the base model has no chat template; openpick tune trains "
                               "chat models (messages or prompt/completion rows)")
        self.eos = tokenizer.eos_token or ""

    def _render(self, msgs, generation_prompt: bool) -> str:
        return render_chat(self.template, [Message(role=r, content=c) for r, c in msgs],
                           bos_token=self.tok.bos_token or "", eos_token=self.eos,
                           add_generation_prompt=generation_prompt)

    def _ids(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"]) if text else []

    def encode(self, ex: Example) -> Encoded:
        ids: list[int] = []
        train: list[bool] = []
        done = ""  # the text already turned into tokens
        msgs = ex.messages
        for i, (role, _) in enumerate(msgs):
            if role != "assistant":
                continue
            context = self._render(msgs[:i], True)
            full = self._render(msgs[:i + 1], False)
            if not context.startswith(done) or not full.startswith(context):
                raise InvalidInput("the chat template does not render turns one after another "
                                   f"(row {ex.source}); use prompt/completion rows")
            answer = full[len(context):]
            cut = answer.find(self.eos) if self.eos else -1
            target, after = ((answer[:cut + len(self.eos)], answer[cut + len(self.eos):])
                             if cut >= 0 else (answer, ""))
            for text, is_target in ((context[len(done):], False), (target, True),
                                    (after, False)):
                piece = self._ids(text)
                ids += piece
                train += [is_target] * len(piece)
            done = full
        truncated = len(ids) > self.seq_len
        return Encoded(ids[:self.seq_len], train[:self.seq_len], truncated)


def encode_all(encoder: Encoder, examples: list[Example], what: str) -> list[Encoded]:
    """Encode every row; rows left with no target token after truncation are an error
    (they would train on nothing), naming the first."""
    out = [encoder.encode(e) for e in examples]
    empty = [e.source for e, enc in zip(examples, out) if enc.n_target == 0]
    if empty:
        raise InvalidInput(f"{len(empty)} {what} row(s) keep no assistant token within "
                           f"--seq-len {encoder.seq_len} (first: {empty[0]}); raise --seq-len "
                           "or shorten the prompts")
    return out
