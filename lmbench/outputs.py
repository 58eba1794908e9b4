"""Where lmbench may write: one policy for every command that writes files for the user.

- Never write over an input: the database, a data file, a checkpoint (same resolved path or same inode).
- Never replace or delete a file lmbench did not write. A single output file (`--out FILE`) may be
  replaced only if lmbench wrote it (a ledger in the cache folder keeps its path and content hash) or with
  `--force`. A report folder (`--out DIR`) records what it wrote in `.lmbench-written.json`; a later write
  replaces and removes only those files (and only while their content is unchanged); a non-empty folder
  without that record is refused unless `--force`, and even then nothing foreign is deleted.
- Write to a temporary name, then rename: an interrupted or failed write leaves the old file, or nothing.
- Missing parent folders are created; when that fails the error names the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from lmbench.errors import ConfigError
from lmbench.paths import cache_root

MANIFEST = ".lmbench-written.json"
Writer = Callable[[Path], None]  # writes the output to the (temporary) path it is given


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        return folder.is_dir() and path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def check_not_input(path: Path, inputs: Iterable[str | Path | None], flag: str = "--out") -> None:
    """Refuse `path` if it is (or lies inside a folder that is) one of `inputs`."""
    for item in inputs:
        if item is None or str(item) == ":memory:":
            continue
        source = Path(item)
        if _same(path, source) or _inside(path, source):
            raise ConfigError(f"{flag} {path} is an input of this command ({source}); writing there would destroy "
                              "it: choose another path")


def _make_parent(path: Path, flag: str) -> None:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        missing = next((p for p in [folder, *folder.parents] if not p.exists()), folder)
        raise ConfigError(f"{flag} {path}: cannot create folder {missing} ({exc.strerror}); create it or choose "
                          "another path") from None


# ---------------------------------------------------------------- single files

def _ledger_file() -> Path:
    return cache_root() / "written-files.json"


def _ledger() -> dict[str, str]:
    try:
        data = json.loads(_ledger_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _record(path: Path) -> None:
    ledger = {k: v for k, v in _ledger().items() if Path(k).is_file()}  # forget files gone since
    ledger[str(path.resolve())] = _sha256(path)
    target = _ledger_file()
    with contextlib.suppress(OSError):  # the ledger is a convenience: a failure only means --force next time
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(ledger, indent=0), encoding="utf-8")
        tmp.replace(target)


def written_by_lmbench(path: Path) -> bool:
    """True if lmbench wrote `path` and nobody changed it since."""
    expected = _ledger().get(str(path.resolve()))
    return expected is not None and path.is_file() and _sha256(path) == expected


def check_file_target(path: Path, *, inputs: Iterable[str | Path | None] = (), force: bool = False,
                      flag: str = "--out") -> Path:
    """Raise ConfigError unless `path` may be (over)written; see the module docstring. Nothing is written."""
    path = Path(path).expanduser()
    check_not_input(path, inputs, flag)
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; name a file inside it, e.g. {path / 'out.csv'}")
    if path.exists() and not force and not written_by_lmbench(path):
        raise ConfigError(f"{flag} {path} already exists and was not written by lmbench; choose another path "
                          "or pass --force to replace it")
    return path


def write_file(path: str | Path, content: str | bytes | Writer, *, inputs: Iterable[str | Path | None] = (),
               force: bool = False, flag: str = "--out") -> Path:
    """Write one output file atomically under the policy above; return its path."""
    path = check_file_target(Path(path), inputs=inputs, force=force, flag=flag)
    _make_parent(path, flag)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".lmbench-tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: give the file the mode a plain open() would
        if isinstance(content, str):
            tmp.write_text(content, encoding="utf-8")
        elif isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            content(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _record(path)
    return path


# ---------------------------------------------------------------- report folders

def _manifest(folder: Path) -> dict[str, str] | None:
    file = folder / MANIFEST
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else None


class OutputFolder:
    """Files staged in a temporary folder beside the target, moved in only when all of them are written."""

    def __init__(self, target: Path, staging: Path, owned: dict[str, str], force: bool, flag: str,
                 inputs: list[str | Path | None]) -> None:
        self.target, self.staging, self.owned, self.force, self.flag = target, staging, owned, force, flag
        self.inputs = inputs
        self.names: list[str] = []
        self.written: list[Path] = []  # final paths, once committed

    def path(self, relative: str) -> Path:
        """Where to write `relative` (a path inside the folder) now; it appears in the target on success."""
        rel = Path(relative)
        if rel.is_absolute() or ".." in rel.parts or rel.name in ("", MANIFEST):
            raise ValueError(f"not a plain relative output name: {relative!r}")
        self.names.append(rel.as_posix())
        staged = self.staging / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def write_text(self, relative: str, text: str) -> Path:
        self.path(relative).write_text(text, encoding="utf-8")
        return self.target / relative

    def _foreign(self, name: str) -> bool:
        final = self.target / name
        return final.exists() and not (final.is_file() and self.owned.get(name) == _sha256(final))

    def commit(self) -> list[Path]:
        for name in self.names:  # a folder holding an input may be written to, never the input itself
            check_not_input(self.target / name, self.inputs, self.flag)
        clash = [n for n in self.names if self._foreign(n)]
        if clash and not self.force:
            raise ConfigError(f"{self.flag} {self.target}: {self.target / clash[0]} exists and was not written by "
                              "lmbench; choose another folder or pass --force to replace it")
        if not self.target.exists():
            os.replace(self.staging, self.target)  # a new folder appears whole or not at all
        else:
            for name in self.names:
                final = self.target / name
                if final.is_dir() and not final.is_symlink():
                    raise ConfigError(f"{self.flag} {self.target}: {final} is a folder; remove it or choose "
                                      "another folder")
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.staging / name, final)
            for stale in set(self.owned) - set(self.names):  # ours from last time, not written now: unchanged only
                old = self.target / stale
                if old.is_file() and _sha256(old) == self.owned[stale]:
                    old.unlink()
            shutil.rmtree(self.staging, ignore_errors=True)
        record = {"files": {n: _sha256(self.target / n) for n in sorted(set(self.names))}}
        manifest = self.target / MANIFEST
        tmp = manifest.with_name(f"{MANIFEST}.tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, manifest)
        return [self.target / n for n in self.names]


def check_folder_target(target: Path, *, inputs: Iterable[str | Path | None] = (), force: bool = False,
                        flag: str = "--out") -> dict[str, str]:
    """Raise ConfigError unless report folder `target` may be written; return the files lmbench wrote there
    last time (name -> sha256). Nothing is written."""
    target = Path(target).expanduser()
    check_not_input(target, inputs, flag)
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{flag} {target} is a file; name a folder (it is created if missing)")
    if not target.is_dir():
        return {}
    owned = _manifest(target)
    if owned is None:
        if any(target.iterdir()) and not force:
            raise ConfigError(f"{flag} {target} is a non-empty folder lmbench did not write; choose an empty or "
                              "new folder, or pass --force to write into it (nothing else in it is touched)")
        return {}
    return owned


@contextlib.contextmanager
def output_folder(target: str | Path, *, inputs: Iterable[str | Path | None] = (), force: bool = False,
                  flag: str = "--out") -> Iterator[OutputFolder]:
    """Stage a report folder; on success move it into `target` (see the module docstring), else leave `target`
    as it was. `folder.path(name)` gives where to write each file; `folder.written` lists the final paths."""
    target = Path(target).expanduser()
    inputs = list(inputs)
    owned = check_folder_target(target, inputs=inputs, force=force, flag=flag)
    _make_parent(target, flag)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".lmbench-tmp", dir=target.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700: the folder gets the mode mkdir would give
    folder = OutputFolder(target, staging, owned, force, flag, inputs)
    try:
        yield folder
        folder.written = folder.commit()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
