"""One model's engines, built on first use, and the table that sends each request kind to its engine.

`ModelEngines.run(requests)` takes any mix of the request kinds of lmbench.engine.requests and returns one
output per request, in order: a LoglikelihoodResult, an NllResult, a float (rolling log-likelihood) or a
`Generated` (the generation result and whether its prompt had to be cut to fit). Task families never
see an engine; the runner never sees a family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmbench.engine.requests import (GenerateRequest, LoglikelihoodRequest, NllRequest, RewardRequest,
                                     RollingRequest)


@dataclass(frozen=True)
class Generated:
    """What a GenerateRequest gives back: the engine's result and whether the prompt was cut from the left."""

    result: Any  # GenerationResult
    truncated: bool

    @property
    def text(self) -> str:
        return self.result.text


class ModelEngines:
    """The loglikelihood, text (NLL/rolling) and generation engines of one loaded model."""

    def __init__(self, lm: Any, *, batch_size: str = "auto", reuse_prefix: bool = True, progress: bool = True,
                 bar: Any = None) -> None:
        self.lm, self.batch_size, self.reuse_prefix, self.progress = lm, batch_size, reuse_prefix, progress
        self.bar = bar  # outer loglikelihood progress bar
        self._built: dict[str, Any] = {}

    def engine(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = _BUILDERS[name](self)
        return self._built[name]

    def run(self, requests: list[Any]) -> list[Any]:
        """Outputs in request order; requests of one kind go to their engine in one call."""
        by_kind: dict[type, list[int]] = {}
        for index, request in enumerate(requests):
            by_kind.setdefault(type(request), []).append(index)
        outputs: list[Any] = [None] * len(requests)
        for kind, indices in by_kind.items():
            handler = _HANDLERS.get(kind)
            if handler is None:
                raise TypeError(f"no engine serves {kind.__name__}; known: {', '.join(k.__name__ for k in _HANDLERS)}")
            for index, output in zip(indices, handler(self, [requests[i] for i in indices]), strict=True):
                outputs[index] = output
        return outputs


def _loglikelihood(engines: ModelEngines) -> Any:
    from lmbench.engine.loglikelihood import LoglikelihoodEngine

    lm = engines.lm
    return LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=engines.batch_size,
                               reuse_prefix=engines.reuse_prefix, progress=False)


def _texts(engines: ModelEngines) -> Any:
    from lmbench.engine.nll import TextScorer

    return TextScorer(engines.engine("loglikelihood"))


def _generator(engines: ModelEngines) -> Any:
    from lmbench.engine.generate import GenerationEngine

    lm = engines.lm
    return GenerationEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=engines.batch_size,
                            progress=engines.progress)


def _generate(engines: ModelEngines, requests: list[GenerateRequest]) -> list[Generated]:
    from lmbench.engine.generate import fit_prompts

    generator = engines.engine("generate")
    fitted, truncated = fit_prompts(generator, requests)
    return [Generated(r, t) for r, t in zip(generator.run(fitted), truncated)]


def _reward(engines: ModelEngines) -> Any:
    """The evaluated model IS a reward model (pairs tasks): score (prompt, response) with it."""
    from lmbench.engine.reward import RewardScorer

    batch = engines.batch_size if str(engines.batch_size).isdigit() else 8
    return RewardScorer.from_model(engines.lm.model, engines.lm.tokenizer, batch_size=int(batch),
                                   max_length=engines.lm.max_length, name=engines.lm.name)


_BUILDERS: dict[str, Callable[[ModelEngines], Any]] = {
    "loglikelihood": _loglikelihood, "texts": _texts, "generate": _generator, "reward": _reward}
_HANDLERS: dict[type, Callable[[ModelEngines, list[Any]], list[Any]]] = {
    LoglikelihoodRequest: lambda e, rs: e.engine("loglikelihood").run(rs, bar=e.bar),
    NllRequest: lambda e, rs: e.engine("texts").nll(rs, bar=e.bar),
    RollingRequest: lambda e, rs: e.engine("texts").rolling(rs, bar=e.bar),
    GenerateRequest: _generate,
    RewardRequest: lambda e, rs: e.engine("reward").score([r.prompt for r in rs], [r.response for r in rs]),
}


def register_handler(request_type: type, handler: Callable[[ModelEngines, list[Any]], list[Any]],
                     builder: tuple[str, Callable[[ModelEngines], Any]] | None = None) -> None:
    """Serve a new request kind: `handler(engines, requests)` returns one output per request; `builder`
    optionally names an engine (`engines.engine(name)`) and how to build it from the model."""
    _HANDLERS[request_type] = handler
    if builder is not None:
        _BUILDERS[builder[0]] = builder[1]
