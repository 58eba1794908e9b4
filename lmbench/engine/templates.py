"""Conversation templates, defined once: a conversation -> segments (text, trained/scored or not).

One module turns messages (`{"role": "system"|"user"|"assistant", "content": str}`) into the text a model
sees, cut into `Segment`s. The NLL benchmark scores exactly the tokens of `trained` segments, SFT trains
exactly those tokens (labels -100 elsewhere), and generation prompts are the same text joined, ending
where the assistant's reply would start. Tokens come from `encode_segments`: each segment tokenized on
its own WITHOUT special tokens, concatenated (the LMFlow NLL rule).

Templates (`template=`):

- ``robin``: LMFlow's Robin format, the NLL benchmark's default: an optional system text, then per turn
  ``###Human: {user}###Assistant:`` (not trained) followed directly by the reply (trained).
- any format string with ``{input}`` (``--nll-prompt``): Robin's structure with that user-turn text.
- ``chatml``: ``<|im_start|>{role}\\n{content}<|im_end|>\\n``; the reply and its ``<|im_end|>`` are
  trained (a tuned model learns to stop), the newline after is not.
- ``llama3``: ``<|begin_of_text|>`` then ``<|start_header_id|>{role}<|end_header_id|>\\n\\n{content}<|eot_id|>``
  (contents trimmed, as Meta's template does); the reply and its ``<|eot_id|>`` are trained.
- ``tokenizer`` (alias ``chat``): the tokenizer's own chat template, split by rendering progressively
  (the conversation up to each reply, with and without it) and diffing; each rendering must extend the
  previous one (prefix-stable) or a `TemplateError` says so. The rendered reply is trained, trailing
  whitespace after it is not.
- ``plain``: the contents concatenated, replies trained (``{input}`` as a format string).
- ``hh``: Anthropic HH-RLHF's ``\n\nHuman: {user}\n\nAssistant: {reply}``; the reply with its leading
  space is trained. The hh_rlhf tasks' prompts are exactly its generation prompts (tests/test_templates.py).

Add a template with `@register_template("name")` on a function (messages, tokenizer, generation_prompt)
-> list[Segment].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union

from lmbench.errors import ConfigError

Messages = list[dict[str, str]]
MessagesOrText = Union[str, Sequence[dict[str, str]]]
ROBIN_PROMPT = "###Human: {input}###Assistant:"
ROLES = ("system", "user", "assistant")


class TemplateError(ConfigError):
    """A conversation a template cannot render (bad roles, a chat template that is not prefix-stable)."""


@dataclass(frozen=True)
class Segment:
    text: str
    trained: bool  # scored by the NLL benchmark, trained by SFT


SegmentFn = Callable[[Messages, Any, bool], list[Segment]]
TEMPLATES: dict[str, SegmentFn] = {}


def register_template(name: str) -> Callable[[SegmentFn], SegmentFn]:
    """Register a template: a function (messages, tokenizer, generation_prompt) -> list[Segment]."""

    def wrap(fn: SegmentFn) -> SegmentFn:
        TEMPLATES[name] = fn
        return fn

    return wrap


def as_messages(messages_or_text: MessagesOrText) -> Messages:
    """A plain string is one user message; a list of messages is checked (roles, contents) and copied."""
    if isinstance(messages_or_text, str):
        return [{"role": "user", "content": messages_or_text}]
    messages: Messages = []
    for i, message in enumerate(messages_or_text):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise TemplateError(f"chat message {i} is {message!r}; expected a dict with 'role' and 'content' keys")
        role = "user" if message["role"] == "human" else str(message["role"])
        if role not in ROLES or (role == "system" and i > 0):
            raise TemplateError(f"chat message {i} has role {message['role']!r}; expected 'user' or 'assistant' "
                                "(and optionally a first 'system' message)")
        messages.append({"role": role, "content": str(message["content"])})
    if not messages:
        raise ConfigError("no chat messages to format; pass a string or a non-empty list of messages")
    return messages


def _structured(user: str, *, system: str = "{content}", head: str = "", lead: str = "", end: str = "",
                after: str = "", begin: str = "", trim: bool = False) -> SegmentFn:
    """A turn-by-turn format: `begin`, then system/user turns (not trained) and for each reply the
    untrained `head`, the trained `lead` + reply + `end`, the untrained `after`; a generation prompt is `head`."""

    def segments(messages: Messages, tokenizer: Any, generation_prompt: bool) -> list[Segment]:
        out = [Segment(begin, False)] if begin else []
        for message in messages:
            content = message["content"].strip() if trim else message["content"]
            if message["role"] == "system":
                out.append(Segment(system.format(content=content), False))
            elif message["role"] == "user":
                out.append(Segment(user.format(content=content), False))
            else:
                if head:
                    out.append(Segment(head, False))
                out.append(Segment(lead + content + end, True))
                if after:
                    out.append(Segment(after, False))
        if generation_prompt and head:
            out.append(Segment(head, False))
        return out

    return segments


def custom_template(prompt: str) -> SegmentFn:
    """Robin's structure with another user-turn text: `prompt` holds {input} (e.g. --nll-prompt)."""
    if "{input}" not in prompt:
        raise TemplateError(f"template {prompt!r} has no {{input}} placeholder; e.g. '###Human: {{input}}###Assistant:'")
    user = prompt.replace("{", "{{").replace("}", "}}").replace("{{input}}", "{content}")
    return _structured(user)


TEMPLATES["robin"] = custom_template(ROBIN_PROMPT)
TEMPLATES["plain"] = _structured("{content}")
TEMPLATES["hh"] = _structured("\n\nHuman: {content}", head="\n\nAssistant:", lead=" ")
TEMPLATES["chatml"] = _structured("<|im_start|>user\n{content}<|im_end|>\n",
                                  system="<|im_start|>system\n{content}<|im_end|>\n",
                                  head="<|im_start|>assistant\n", end="<|im_end|>", after="\n")
_L3 = "<|start_header_id|>{role}<|end_header_id|>\n\n"
TEMPLATES["llama3"] = _structured(_L3.format(role="user") + "{content}<|eot_id|>",
                                  system=_L3.format(role="system") + "{content}<|eot_id|>",
                                  head=_L3.format(role="assistant"), end="<|eot_id|>",
                                  begin="<|begin_of_text|>", trim=True)


def _tokenizer_name(tokenizer: Any) -> str:
    return getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__


def _render(tokenizer: Any, messages: Messages, generation_prompt: bool) -> str:
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        name = "None" if tokenizer is None else _tokenizer_name(tokenizer)
        raise TemplateError(f"tokenizer {name!r} has no chat template; use template 'robin', 'chatml', 'llama3' or "
                            "'plain', or a chat-tuned model whose tokenizer has a chat_template")
    try:
        return tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=False)
    except Exception as exc:
        if not type(exc).__module__.startswith("jinja2"):
            raise
        first = " ".join(str(exc).split())  # the template's own words (e.g. raise_exception), on one line
        raise TemplateError(f"the chat template of {_tokenizer_name(tokenizer)!r} refused {len(messages)} message(s) "
                            f"({type(exc).__name__}: {first}); check the roles and their order, or use template "
                            "'chatml', 'llama3' or 'robin'") from exc


@register_template("tokenizer")
def tokenizer_segments(messages: Messages, tokenizer: Any, generation_prompt: bool) -> list[Segment]:
    """The tokenizer's chat template, split into segments by progressive rendering (see the module docstring)."""
    out: list[Segment] = []
    done = ""

    def extend(text: str, upto: int, trained: bool) -> None:
        nonlocal done
        if not text.startswith(done):
            raise TemplateError(
                f"the chat template of {_tokenizer_name(tokenizer)!r} is not prefix-stable: rendering messages[:{upto}] "
                f"does not start with the rendering of the turns before it, so replies cannot be cut into segments; "
                "use template 'chatml', 'llama3' or 'robin' instead")
        piece = text[len(done):]
        if trained:
            body = piece.rstrip()
            out.extend(s for s in (Segment(body, True), Segment(piece[len(body):], False)) if s.text)
        elif piece:
            out.append(Segment(piece, False))
        done = text

    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            if i:  # (transformers renders no empty conversation: a reply first has nothing before it)
                extend(_render(tokenizer, messages[:i], True), i, False)
            extend(_render(tokenizer, messages[: i + 1], False), i + 1, True)
    extend(_render(tokenizer, messages, generation_prompt), len(messages), False)
    return out


TEMPLATES["chat"] = tokenizer_segments  # the CLI's name for it


def _template_fn(template: str) -> SegmentFn:
    fn = TEMPLATES.get(template)
    if fn is None:
        if "{input}" in template:
            return custom_template(template)
        raise TemplateError(f"unknown prompt template {template!r}; expected one of {', '.join(sorted(TEMPLATES))} "
                            "or a format string with {input}")
    return fn


def check_text_template(template: str, option: str = "--nll-prompt") -> None:
    """Refuse, before any model loads, a template that needs no tokenizer but is unknown or malformed."""
    if template in ("tokenizer", "chat"):
        raise TemplateError(f"{option} {template!r} needs the model's tokenizer, which is not loaded yet; use 'robin', "
                            "'chatml', 'llama3', 'hh', 'plain' or a format string with {input}")
    if template not in TEMPLATES and "{input}" not in template:
        raise TemplateError(f"{option} {template!r} is no template name and has no {{input}} placeholder; use one of "
                            "robin, chatml, llama3, hh, plain or e.g. '###Human: {input}###Assistant:'")


def conversation_segments(messages: MessagesOrText, template: str, tokenizer: Any = None, *,
                          generation_prompt: bool = False) -> list[Segment]:
    """The conversation as segments; replies (assistant turns) trained, everything else not.

    `generation_prompt=True` ends with the text after which the next reply starts (the conversation
    must then end with a user turn)."""
    msgs = as_messages(messages)
    if generation_prompt and msgs[-1]["role"] != "user":
        raise TemplateError(f"template {template!r}: the last message must be the user's turn to generate a reply to, "
                            f"got {msgs[-1]['role']!r}")
    return _template_fn(template)(msgs, tokenizer, generation_prompt)


def text2text_segments(input: str, output: str, template: str, tokenizer: Any = None) -> list[Segment]:
    """An LMFlow text2text pair as one user turn and its reply: only the output is trained/scored."""
    return conversation_segments([{"role": "user", "content": input}, {"role": "assistant", "content": output}],
                                 template, tokenizer)


def encode_segments(tokenizer: Any, segments: Sequence[Segment | tuple[str, bool]], *,
                    skip_first: bool = False) -> tuple[list[int], list[bool]]:
    """Token ids and, per token, whether it is trained/scored: each segment tokenized separately WITHOUT
    special tokens and concatenated. `skip_first` leaves the first token unscored (text_only data)."""
    ids: list[int] = []
    trained: list[bool] = []
    for segment in segments:
        text, is_trained = (segment.text, segment.trained) if isinstance(segment, Segment) else segment
        piece = tokenizer.encode(text, add_special_tokens=False)
        ids += piece
        trained += [bool(is_trained)] * len(piece)
    if skip_first and trained:
        trained[0] = False
    return ids, trained


def format_prompt(tokenizer: Any, messages_or_text: MessagesOrText, template: str) -> str:
    """The generation prompt: the conversation's segments joined, ending where the reply starts.

    For the tokenizer's template the final rendering is used as is (a generation prompt needs no cut,
    so templates that are not prefix-stable still generate)."""
    if template in ("tokenizer", "chat"):
        messages = as_messages(messages_or_text)
        return _render(tokenizer, messages, True)
    segments = conversation_segments(messages_or_text, template, tokenizer, generation_prompt=True)
    return "".join(s.text for s in segments)
