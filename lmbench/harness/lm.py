"""`LmbenchLM`: an lm-evaluation-harness model class whose requests are served by lmbench's engine.

loglikelihood -> `LoglikelihoodEngine` (harness-exact tokenization, prefix reuse, token-budget batches),
loglikelihood_rolling -> `TextScorer.rolling` (the harness's rolling windows), generate_until ->
`GenerationEngine` (stop strings, seeded per request). lmbench's runner does not need it (it serves the
bridge's requests through its own engine table, lmbench.engine.dispatch); it is the harness model class
for running the harness itself on lmbench's engine:

    import lm_eval, lmbench.harness.lm
    lm_eval.simple_evaluate(model="lmbench", model_args="pretrained=path/to/model", tasks=["arc_easy"])
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from lmbench.engine.requests import GenerateRequest, LoglikelihoodRequest, RollingRequest
from lmbench.harness.params import DEFAULT_MAX_GEN_TOKS, generation_params

__all__ = ["DEFAULT_MAX_GEN_TOKS", "LmbenchLM"]


@register_model("lmbench")
class LmbenchLM(LM):
    def __init__(self, engine: Any = None, texts: Any = None, generator: Any = None, *, bar: Any = None,
                 seed: int = 1234, pretrained: str | None = None, **options: Any) -> None:
        """Either the engines (what lmbench's runner passes) or `pretrained=` (any lmbench checkpoint spec)."""
        super().__init__()
        if engine is None:
            engine, texts, generator = _engines_for(pretrained, **options)
        self.engine, self.texts, self._generator = engine, texts, generator
        self.bar = bar
        self.seed = seed
        self.last_flags: list[bool] = []  # per request of the last call: input cut or tokenized apart
        self._warned: set[str] = set()

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None) -> LmbenchLM:
        from lm_eval.utils import simple_parse_args_string

        args = simple_parse_args_string(arg_string) | {k: v for k, v in (additional_config or {}).items()
                                                       if v is not None and k in ("batch_size", "device")}
        return cls(**args)

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        results = self.engine.run([LoglikelihoodRequest(*r.args[:2]) for r in requests], bar=self.bar)
        self.last_flags = [r.flagged for r in results]
        return [(r.logprob, r.is_greedy) for r in results]

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        self.last_flags = [False] * len(requests)
        return self.texts.rolling([RollingRequest(r.args[0]) for r in requests], bar=self.bar)

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        from lmbench.engine.generate import fit_prompts

        generator = self._generator() if callable(self._generator) else self._generator
        repeat: dict[int, int] = {}  # the harness passes an Instance `repeats` times: each copy samples anew
        asked = []
        for r in requests:
            repeat[id(r)] = repeat.get(id(r), -1) + 1
            asked.append(GenerateRequest(r.args[0], self._params(r.args[0], dict(r.args[1]), repeat[id(r)])))
        fitted, self.last_flags = fit_prompts(generator, asked)
        return [g.text for g in generator.run(fitted)]

    def _params(self, prompt: str, kwargs: dict[str, Any], repeat: int = 0) -> dict[str, Any]:
        return generation_params(prompt, kwargs, seed=self.seed, repeat=repeat, warned=self._warned)


def _engines_for(pretrained: str | None, *, batch_size: Any = "auto", dtype: str = "auto", device: str = "auto",
                 max_length: Any = None, **ignored: Any) -> tuple[Any, Any, Any]:
    from lmbench.engine.generate import GenerationEngine
    from lmbench.engine.loglikelihood import LoglikelihoodEngine
    from lmbench.engine.nll import TextScorer
    from lmbench.models.loader import load_model

    lm = load_model(pretrained, dtype=dtype, device=device, max_length=int(max_length) if max_length else None)
    engine = LoglikelihoodEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=str(batch_size), progress=True)
    generator = GenerationEngine(lm.model, lm.tokenizer, lm.max_length, batch_size=str(batch_size), progress=True)
    return engine, TextScorer(engine), generator
