"""Hugging Face datasets, when the Hub is reachable."""

from __future__ import annotations

from typing import Any

from lmbench.data.locate import hub_offline


class HubUnavailable(Exception):
    """The Hub copy could not be read; `str()` is the short reason."""


def load_hub_rows(path: str, name: str | None, split: str) -> list[dict[str, Any]]:
    """Rows of a Hub dataset split, or HubUnavailable with a one-line reason."""
    if hub_offline():
        raise HubUnavailable("HF_HUB_OFFLINE is set")
    try:
        import datasets
    except ImportError:
        raise HubUnavailable("the datasets package is not installed") from None
    try:
        return list(datasets.load_dataset(path, name, split=split))
    except Exception as exc:  # noqa: BLE001 - network, auth and format errors all mean "use local files"
        text = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise HubUnavailable(f"{path}: {text}") from None
