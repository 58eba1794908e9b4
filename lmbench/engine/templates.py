"""Prompt formatting for generation: a registry of named templates.

`format_prompt(tokenizer, messages_or_text, template)` turns either a plain string (one user turn) or a list
of chat messages (`{"role": "user"|"assistant"|"system", "content": ...}`) into the prompt string the
engine generates from. Add a template with `@register_template("name")`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

from lmbench.errors import ConfigError

Messages = list[dict[str, str]]
MessagesOrText = Union[str, Sequence[dict[str, str]]]
TemplateFn = Callable[[Any, MessagesOrText], str]

TEMPLATES: dict[str, TemplateFn] = {}


def register_template(name: str) -> Callable[[TemplateFn], TemplateFn]:
    """Register a prompt template under `name` (a function (tokenizer, messages_or_text) -> str)."""

    def wrap(fn: TemplateFn) -> TemplateFn:
        TEMPLATES[name] = fn
        return fn

    return wrap


def as_messages(messages_or_text: MessagesOrText) -> Messages:
    """A plain string is one user message; a list of messages is checked and copied."""
    if isinstance(messages_or_text, str):
        return [{"role": "user", "content": messages_or_text}]
    messages: Messages = []
    for i, message in enumerate(messages_or_text):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ConfigError(f"chat message {i} is {message!r}; expected a dict with 'role' and 'content' keys")
        messages.append({"role": str(message["role"]), "content": str(message["content"])})
    if not messages:
        raise ConfigError("no chat messages to format; pass a string or a non-empty list of messages")
    return messages


@register_template("plain")
def plain(tokenizer: Any, messages_or_text: MessagesOrText) -> str:
    """The text as is; a message list is joined by newlines (contents only)."""
    if isinstance(messages_or_text, str):
        return messages_or_text
    return "\n".join(m["content"] for m in as_messages(messages_or_text))


@register_template("robin")
def robin(tokenizer: Any, messages_or_text: MessagesOrText) -> str:
    """LMFlow's Robin format: `###Human: {user}###Assistant: {assistant}` turns, ending `###Assistant:`."""
    messages = as_messages(messages_or_text)
    parts: list[str] = []
    for i, message in enumerate(messages):
        role, content = message["role"], message["content"]
        if role in ("user", "human"):
            parts.append(f"###Human: {content}")
        elif role == "assistant":
            parts.append(f"###Assistant: {content}")
        elif role == "system" and i == 0:
            parts.append(content)
        else:
            raise ConfigError(f"robin template: message {i} has role {role!r}; expected 'user' or 'assistant' "
                              "(and optionally a first 'system' message)")
    if messages[-1]["role"] not in ("user", "human"):
        raise ConfigError("robin template: the last message must be the user's turn to generate a reply to")
    return "".join(parts) + "###Assistant:"


@register_template("chat")
def chat(tokenizer: Any, messages_or_text: MessagesOrText) -> str:
    """The tokenizer's own chat template, with the assistant generation prompt appended."""
    if not getattr(tokenizer, "chat_template", None):
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        raise ConfigError(f"tokenizer {name!r} has no chat template; use template 'robin' or 'plain', "
                          "or a chat-tuned model whose tokenizer_config.json has a chat_template")
    return tokenizer.apply_chat_template(as_messages(messages_or_text), add_generation_prompt=True, tokenize=False)


def format_prompt(tokenizer: Any, messages_or_text: MessagesOrText, template: str) -> str:
    """Format a prompt with a registered template ("chat", "robin", "plain", ...)."""
    fn = TEMPLATES.get(template)
    if fn is None:
        raise ConfigError(f"unknown prompt template {template!r}; expected one of {', '.join(sorted(TEMPLATES))}")
    return fn(tokenizer, messages_or_text)
