"""GenerationEngine.stream: the text the CLI prints comes from the engine's one generation loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmbench.engine.generate import GenerationEngine
from lmbench.engine.requests import GenerateRequest
from lmbench.engine.streaming import TextCallbackStreamer
from lmbench.errors import ConfigError


@pytest.fixture(scope="module")
def engine(tiny_llama: Path) -> GenerationEngine:
    from lmbench.models.loader import load_model

    lm = load_model(str(tiny_llama), device="cpu")
    return GenerationEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=1, progress=False)


@pytest.mark.parametrize("params", [
    {"max_new_tokens": 24},
    {"max_new_tokens": 24, "do_sample": True, "temperature": 0.9, "top_p": 0.95, "seed": 3},
])
def test_streamed_pieces_join_to_the_batch_result(engine, params):
    request = GenerateRequest("The heart pumps blood", params)
    pieces: list[str] = []
    streamed = engine.stream(request, pieces.append)
    batch = engine.run([request])[0]
    assert streamed == batch, "stream() and run() are one generation path"
    assert "".join(pieces) == batch.text and len(pieces) > 1, pieces


def test_stream_stops_at_a_stop_string_without_printing_it(engine):
    free = engine.run([GenerateRequest("The heart pumps blood", {"max_new_tokens": 24})])[0].text
    # Three characters the model does produce (no replacement character), so the cut happens.
    start = next(i for i in range(4, len(free) - 3) if "\ufffd" not in free[i:i + 3])
    stop = free[start:start + 3]
    request = GenerateRequest("The heart pumps blood", {"max_new_tokens": 24, "stop": [stop]})
    pieces: list[str] = []
    result = engine.stream(request, pieces.append)
    assert result.stopped_by == "stop" and stop not in "".join(pieces)
    assert "".join(pieces) == result.text == free[: free.index(stop)]


def test_streamer_holds_back_what_may_change(engine):
    pieces: list[str] = []
    streamer = TextCallbackStreamer(engine.tokenizer, pieces.append, stop=["###Human:"])
    ids = engine.tokenizer.encode("heart blood ###Hu", add_special_tokens=False)
    streamer.put(ids)  # the prompt: skipped
    for i in ids:
        streamer.put(__import__("torch").tensor([i]))
    assert "".join(pieces) == "heart blood", "a possible stop-string start and trailing space are held back"
    streamer.finish("heart blood ###Hu")
    assert "".join(pieces) == "heart blood ###Hu"


def test_stream_checks_the_prompt(engine):
    with pytest.raises(ConfigError, match="empty"):
        engine.stream(GenerateRequest("", {"max_new_tokens": 4}), print)
