"""SFT examples: prompts and label masks from the template module, so SFT trains what the NLL benchmark scores.

`encode_example` turns one conversation (a list of messages) or one (input, output) pair into input_ids,
labels (-100 where a token is not trained) and attention_mask. Segments come from
`lmbench.engine.templates` (`conversation_segments` / `text2text_segments`) and are tokenized by
`encode_segments`, the function the NLL benchmark scores with: each segment separately, without special
tokens. As in the NLL engine, a trained first token gets the prefix token (BOS, else EOS) in front so it
has a context. An example longer than `max_length` loses its first tokens by default (`truncation="left"`:
the reply and the end of the prompt stay, as the evaluation engines cut a long prompt, so the tokens trained
are the tokens scored); `truncation="right"` cuts its end instead (TRL's way), which can cut the whole reply.
An example left with no trained token is dropped (counted by `build_sft_rows`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

IGNORE = -100
Pair = Union[tuple[str, str], Mapping[str, str]]
TRUNCATIONS = ("left", "right")


def segments_for(messages_or_pair: Union[Sequence[Mapping[str, str]], Pair], template: str, tokenizer: Any) -> list:
    """Template segments of a conversation (list of messages) or an (input, output) pair / {input, output} dict."""
    from lmbench.engine.templates import conversation_segments, text2text_segments

    if isinstance(messages_or_pair, Mapping):
        return text2text_segments(messages_or_pair["input"], messages_or_pair["output"], template, tokenizer)
    if isinstance(messages_or_pair, tuple) and len(messages_or_pair) == 2 and all(
            isinstance(x, str) for x in messages_or_pair):
        return text2text_segments(messages_or_pair[0], messages_or_pair[1], template, tokenizer)
    return conversation_segments([dict(m) for m in messages_or_pair], template, tokenizer)


def encode_example(tokenizer: Any, messages_or_pair: Union[Sequence[Mapping[str, str]], Pair], template: str,
                   max_length: int, truncation: str = "left") -> dict[str, list[int]]:
    """input_ids, labels (-100 = not trained) and attention_mask of one SFT example (see the module docstring)."""
    from lmbench.engine.templates import encode_segments

    ids, trained = encode_segments(tokenizer, segments_for(messages_or_pair, template, tokenizer))
    ids, trained = list(ids), list(trained)
    if trained and trained[0]:
        prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        ids, trained = [prefix] + ids, [False] + trained
    if len(ids) > max_length:
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, not {truncation!r}")
        window = slice(len(ids) - max_length, None) if truncation == "left" else slice(None, max_length)
        ids, trained = ids[window], trained[window]
    labels = [t if keep else IGNORE for t, keep in zip(ids, trained, strict=True)]
    return {"input_ids": ids, "labels": labels, "attention_mask": [1] * len(ids)}


def instance_input(dataset_type: str, instance: Mapping[str, Any]) -> Union[list[dict], dict]:
    """What encode_example takes for one LMFlow instance: the {input, output} dict or the messages (system first)."""
    if dataset_type == "text2text":
        return {"input": instance["input"], "output": instance["output"]}
    system = instance.get("system") or ""
    return ([{"role": "system", "content": system}] if system else []) + [dict(m) for m in instance["messages"]]


def build_sft_rows(tokenizer: Any, rows: list[tuple[str, dict]], template: str, max_length: int,
                   packing: bool = False, truncation: str = "left") -> tuple[list[dict[str, list[int]]], dict[str, int]]:
    """Encoded examples of a mixture epoch and counts (examples, dropped, tokens, trained tokens)."""
    examples, dropped = [], 0
    for dataset_type, instance in rows:
        example = encode_example(tokenizer, instance_input(dataset_type, instance), template, max_length, truncation)
        if all(label == IGNORE for label in example["labels"]):
            dropped += 1
            continue
        examples.append(example)
    if packing:
        examples = pack_examples(examples, max_length)
    stats = {"examples": len(examples), "dropped": dropped,
             "tokens": sum(len(e["input_ids"]) for e in examples),
             "trained_tokens": sum(sum(1 for label in e["labels"] if label != IGNORE) for e in examples)}
    return examples, stats


def pack_examples(examples: list[dict[str, list[int]]], max_length: int) -> list[dict[str, list[int]]]:
    """Greedy packing: consecutive examples concatenated while they fit in max_length (labels kept per token)."""
    packed: list[dict[str, list[int]]] = []
    current: dict[str, list[int]] = {"input_ids": [], "labels": [], "attention_mask": []}
    for example in examples:
        if current["input_ids"] and len(current["input_ids"]) + len(example["input_ids"]) > max_length:
            packed.append(current)
            current = {"input_ids": [], "labels": [], "attention_mask": []}
        for key in current:
            current[key] = current[key] + example[key]
    if current["input_ids"]:
        packed.append(current)
    return packed
