"""Text as it is generated: a `transformers` streamer that hands decoded pieces to a callback.

`GenerationEngine.stream` uses it so one generation loop (the engine's) serves both batch runs and the
CLI's live output. Pieces are cut so that their concatenation is exactly the final `GenerationResult.text`:
the streamer decodes all new tokens so far and holds back what may still change -- an incomplete UTF-8
character, trailing whitespace (tokenizers may clean it up once the next token arrives) and the end of the
text while it could still become a stop string -- and stops at the first stop string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from transformers.generation.streamers import BaseStreamer


class TextCallbackStreamer(BaseStreamer):
    """`model.generate(streamer=...)` for one row: calls `on_text(piece)` as text becomes final."""

    def __init__(self, tokenizer: Any, on_text: Callable[[str], None], stop: Sequence[str] = ()) -> None:
        self.tokenizer, self.on_text, self.stop = tokenizer, on_text, tuple(stop)
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_seen = False
        self.stopped = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt
            self.prompt_seen = True
            return
        if self.stopped:
            return
        self.ids += [int(i) for i in value.reshape(-1).tolist()]
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        cuts = [text.find(s) for s in self.stop if s in text]
        if cuts:
            self.stopped = True
            self._send(text[: min(cuts)])
            return
        safe = text[: len(text) - self._stop_prefix(text)].rstrip()
        while safe.endswith("\ufffd"):  # a character whose bytes have not all arrived
            safe = safe[:-1]
        self._send(safe)

    def _stop_prefix(self, text: str) -> int:
        """Length of the longest end of `text` that begins a stop string (it may still become one)."""
        longest = max((len(s) for s in self.stop), default=1) - 1
        for k in range(min(longest, len(text)), 0, -1):
            if any(s.startswith(text[-k:]) for s in self.stop):
                return k
        return 0

    def end(self) -> None:
        """Nothing: `finish` sends the rest once the engine has the final text."""

    def finish(self, final: str) -> None:
        self._send(final)

    def _send(self, text: str) -> None:
        if len(text) > len(self.sent) and text.startswith(self.sent):
            self.on_text(text[len(self.sent):])
            self.sent = text
