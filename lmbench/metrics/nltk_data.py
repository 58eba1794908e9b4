"""Offline NLTK data: WordNet 3.0 for METEOR, built from Debian's WordNet packages.

NLTK's downloader cannot reach its data server here, but Debian ships the WordNet 3.0
database files (``apt-get install wordnet-base wordnet-sense-index``, into
``/usr/share/wordnet``). NLTK's WordNet reader wants them in ``<root>/corpora/wordnet/``
plus one file Debian does not ship: ``lexnames``, the 45-row table of the lexnames(5WN)
man page (file number, lexicographer file name, syntactic category 1 noun, 2 verb,
3 adjective, 4 adverb). :func:`ensure_wordnet` lays that folder out under the lmbench
cache (copies of the Debian files -- NLTK 3.10's path check rejects
symlinks that leave the corpus root -- and ``lexnames`` written from :data:`LEXNAMES`) and puts
its root first on ``nltk.data.path``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from lmbench.errors import LmbenchError
from lmbench.paths import cache_root

__all__ = ["LEXNAMES", "WordNetMissingError", "ensure_wordnet", "lexnames_text", "nltk_data_root"]

#: Lexicographer file names in file-number order (lexnames(5WN), WordNet 3.0): row i is file i.
LEXNAMES: tuple[str, ...] = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

#: Files NLTK's WordNet reader opens; a source folder must hold all of them.
REQUIRED_FILES: tuple[str, ...] = tuple(
    f"{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")
) + tuple(f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv"))

#: Where Debian (and the upstream WordNet installer) put the database files.
SOURCE_DIRS: tuple[str, ...] = ("/usr/share/wordnet", "/usr/share/wordnet/dict", "/usr/local/WordNet-3.0/dict")

INSTALL_HINT = "apt-get install wordnet-base wordnet-sense-index"


class WordNetMissingError(LmbenchError):
    """WordNet 3.0 (needed by METEOR) is neither in the lmbench cache nor installed by Debian."""


def lexnames_text() -> str:
    """The ``lexnames`` file: one ``NN<TAB>name<TAB>category`` row per lexicographer file."""
    rows = [f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}" for i, name in enumerate(LEXNAMES)]
    return "\n".join(rows) + "\n"


def nltk_data_root() -> Path:
    """``lmbench.paths.cache_root() / "nltk_data"``: the NLTK data root lmbench builds."""
    return cache_root() / "nltk_data"


def _find_source() -> Path | None:
    candidates = [os.environ.get("WNSEARCHDIR", ""), *SOURCE_DIRS]
    for cand in candidates:
        if cand and all((Path(cand) / name).is_file() for name in REQUIRED_FILES):
            return Path(cand)
    return None


def _complete(folder: Path) -> bool:
    # Regular files only: a symlink out of the folder fails NLTK's path check when read.
    return all(
        (folder / name).is_file() and not (folder / name).is_symlink() for name in (*REQUIRED_FILES, "lexnames")
    )


def _use(root: Path) -> None:
    import nltk

    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))


def _build(source: Path, target: Path) -> None:
    """Lay out ``target`` (``<root>/corpora/wordnet``) atomically: build beside it, then rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    try:
        for src in sorted(source.iterdir()):
            if not src.is_file():
                continue
            shutil.copyfile(src, tmp / src.name)
        (tmp / "lexnames").write_text(lexnames_text(), encoding="utf-8")
        if target.exists() or target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        os.chmod(tmp, 0o755)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def ensure_wordnet() -> Path:
    """Make WordNet 3.0 loadable by NLTK offline; return the WordNet folder NLTK will read.

    Order: the lmbench cache folder if complete; else build it from the Debian files
    (``$WNSEARCHDIR`` or :data:`SOURCE_DIRS`); else an NLTK data folder the user already
    has (``nltk.data.find("corpora/wordnet")``). The cache root is prepended to ``nltk.data.path``.
    Raises :class:`WordNetMissingError` (an ``LmbenchError``) when none is available.
    """
    root = nltk_data_root()
    target = root / "corpora" / "wordnet"
    if not _complete(target):
        source = _find_source()
        if source is not None:
            _build(source, target)
    if _complete(target):
        _use(root)
        return target
    import nltk

    try:
        found = Path(str(nltk.data.find("corpora/wordnet")))
    except LookupError:
        raise WordNetMissingError(
            f"WordNet 3.0 (for METEOR) not found in {', '.join(SOURCE_DIRS)} or NLTK's data path; "
            f"install it with `{INSTALL_HINT}` (NLTK's downloader is not needed)"
        ) from None
    return found
