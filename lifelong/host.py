"""What a process has of its machine and checkout: the cores it may use, a free local port, the commit.

Small facts that several parts ask alike: the benchmark runner and the robotics training pool size
themselves by the cores, a Minecraft run's embedded server needs a port nothing listens on, and a
recorded result names the commit it ran at. Each is asked here, once, so every part gets the same
answer the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path


def default_workers() -> int:
    """One job per core this process may use (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def free_port() -> int:
    """A local port nothing listens on now (bound, then released), for a server this process starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def git_commit(path: Path | None = None, paths: Sequence[str] = (), untracked: bool = False) -> tuple[str | None, bool]:
    """The checkout's commit and whether it had uncommitted changes (None outside git): in ``paths``
    only when given, counting untracked files when ``untracked``."""
    cwd = path or Path(__file__).resolve().parent
    status = ["git", "status", "--porcelain", *([] if untracked else ["--untracked-files=no"])]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run([*status, *(["--", *paths] if paths else [])], cwd=cwd,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return None, False
    return commit, dirty
