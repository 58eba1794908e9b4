"""Which lm-evaluation-harness versions the bridge speaks: it uses the harness's task objects directly."""

from __future__ import annotations

from importlib import metadata

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from lmbench.errors import ConfigError

SUPPORTED_RANGE = ">=0.4.12,<0.5"  # TaskManager.load, tasks._factory and _process_results arrived in 0.4.12
SUPPORTED = SpecifierSet(SUPPORTED_RANGE)


def installed_harness_version() -> str | None:
    try:
        return metadata.version("lm_eval")
    except metadata.PackageNotFoundError:
        return None


def check_harness_version(version: str | None = None) -> str:
    """The installed (or given) lm-eval version, or a one-line error saying which versions work."""
    version = installed_harness_version() if version is None else version
    fix = f"pip install 'lm-eval{SUPPORTED_RANGE}' torch==2.13.0"
    if version is None:
        raise ConfigError(f"lm-evaluation-harness is not installed; lm_eval: tasks need it: {fix}")
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise ConfigError(f"lm-eval reports an unreadable version {version!r}; reinstall it: {fix}") from None
    if parsed not in SUPPORTED:
        raise ConfigError(f"lm-eval {version} is not supported by lmbench's harness bridge (needs lm-eval{SUPPORTED_RANGE}); "
                          f"install a supported one: {fix}")
    return version
