"""Encode (context, continuation) pairs exactly as lm-evaluation-harness does.

Trailing whitespace of the context moves to the continuation; the pair is
encoded whole and cut at len(encode(context)). If that cut is empty or does
not line up with the context's own encoding, the two parts are encoded
separately and the request is flagged. An empty context is replaced by the
prefix token (BOS, else EOS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EncodedPair:
    context: tuple[int, ...]
    continuation: tuple[int, ...]
    flagged: bool


class PairEncoder:
    """Memoising encoder: MC tasks repeat one context for every choice."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.prefix_token_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        self._bos_text = tokenizer.decode([self.prefix_token_id]) if self.prefix_token_id is not None else None
        self._memo: dict[str, tuple[int, ...]] = {}

    def encode(self, text: str) -> tuple[int, ...]:
        cached = self._memo.get(text)
        if cached is None:
            # Like the harness: the tokenizer's own special-token policy, unless the text already starts with BOS.
            kwargs = {"add_special_tokens": False} if self._bos_text and text.startswith(self._bos_text) else {}
            cached = tuple(self.tokenizer.encode(text, **kwargs))
            if len(self._memo) < 200_000:
                self._memo[text] = cached
        return cached

    def encode_pair(self, context: str, continuation: str) -> EncodedPair:
        if context == "":
            cont = tuple(self.tokenizer.encode(continuation, add_special_tokens=False))
            if cont and cont[0] != self.prefix_token_id:
                return EncodedPair((self.prefix_token_id,), cont, False)
            return EncodedPair(cont[:1], cont[1:], False)
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self.encode(context + continuation)
        ctx = self.encode(context)
        cont = whole[len(ctx):]
        if cont and whole[: len(ctx)] == ctx:
            return EncodedPair(ctx, cont, False)
        separate = tuple(self.tokenizer.encode(continuation, add_special_tokens=False))
        return EncodedPair(ctx, separate, True)
