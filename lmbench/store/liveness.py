"""Is a 'running' run still being worked on? Its writer's pid and host, and the heartbeat every write refreshes.

On this host a run is alive while its process is (`os.kill(pid, 0)`); on another host, while its heartbeat
(`updated_at`, refreshed by every sample and result write) is younger than `STALE_AFTER`. A run nobody works
on is shown as 'interrupted' and resumed by running the same command again; the stored status stays
'running' until a writer changes it (reading never writes).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

STALE_AFTER = timedelta(hours=1)  # a 'running' run on another host silent this long is taken as dead


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT


def pid_alive(pid: Any) -> bool:
    """True while process `pid` exists on this host (0 and negative ids name groups, never one writer)."""
    if int(pid) <= 0:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def writer_gone(pid: Any, host: Any, updated_at: Any, *, now: datetime | None = None) -> bool:
    """True when the process that marked a run 'running' can no longer be writing it."""
    if not _missing(host) and host == socket.gethostname() and not _missing(pid):
        return not pid_alive(pid)
    if _missing(updated_at):
        return True
    updated = pd.Timestamp(updated_at).to_pydatetime().replace(tzinfo=timezone.utc)
    return (now or datetime.now(timezone.utc)) - updated > STALE_AFTER


def shown_status(status: str, pid: Any, host: Any, updated_at: Any) -> str:
    """The status to show: 'interrupted' for a 'running' run whose writer is gone, else the stored one."""
    return "interrupted" if status == "running" and writer_gone(pid, host, updated_at) else status


def with_shown_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace `status` by the shown status, using the frame's pid, host and updated_at columns."""
    if frame.empty:
        return frame
    frame["status"] = [shown_status(s, p, h, u) for s, p, h, u in
                       zip(frame["status"], frame["pid"], frame["host"], frame["updated_at"])]
    return frame
