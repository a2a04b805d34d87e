"""The run folder: an append-only event log plus atomic checkpoints, so no run loses its work.

Layout of a run folder::

    events.jsonl       one JSON object per line, appended and fsynced as things happen
    checkpoint.json    the latest resumable state, replaced atomically (write temp, fsync, rename)
    llm_ledger.json    tokens and dollars per role (lifelong.llm)

A crash at any instant leaves either the old or the new checkpoint, never a torn one, and at worst
a torn *last* line of the event log, which :func:`read_events` skips, and the temporary file of a
write cut short, which a resumed :class:`RunDir` removes.

Crash tests kill a run at a named point with ``LIFELONG_FAULT`` (see :func:`fault_point`).
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EVENTS_FILE = "events.jsonl"
CHECKPOINT_FILE = "checkpoint.json"
FAULT_ENV = "LIFELONG_FAULT"
STAGING_GLOB = "*.tmp"  # atomic_write_text's ".NAME.XXXXXXXX.tmp", Policy.save's "policy.tmp"
NOT_OURS = ("world",)  # the Minecraft server's world folder (another process writes there)
_fault_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Die here by SIGKILL when ``$LIFELONG_FAULT`` names this point: a deterministic kill -9.

    The crash tests (tests/test_faults_resume.py) need to kill a run at an exact instant, which
    watching it from outside cannot do. ``LIFELONG_FAULT=stored`` kills the process the first time
    it passes ``fault_point("stored")``; ``stored@2`` the second time. Unset, this does nothing.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    point, _, nth = spec.partition("@")
    if point != name:
        return
    _fault_hits[name] = _fault_hits.get(name, 0) + 1
    if _fault_hits[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Events of a log, skipping a line torn by a crash mid-write."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


class RunExists(FileExistsError):
    """A run folder with work in it was named without ``--resume``."""


class RunDir:
    """One run's folder. ``resume=False`` refuses to overwrite a run that already holds work."""

    def __init__(self, path: Path | str, resume: bool = False) -> None:
        self.path = Path(path)
        if not resume and (self.path / CHECKPOINT_FILE).exists():
            raise RunExists(
                f"{self.path} already holds a run. Pass --resume to continue it, "
                "or choose another --run-dir."
            )
        if resume and not (self.path / CHECKPOINT_FILE).exists() and not (self.path / EVENTS_FILE).exists():
            raise FileNotFoundError(
                f"nothing to resume in {self.path}: it has no {CHECKPOINT_FILE}. "
                "Start a new run without --resume."
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.resumed = resume
        if resume:
            self.sweep_staging()

    def sweep_staging(self) -> list[Path]:
        """Remove temporary files that a crash left mid-write; their complete versions are on disk
        already or get rewritten when the interrupted step is redone."""
        removed = []
        for tmp in self.path.rglob(STAGING_GLOB):
            if tmp.is_file() and tmp.relative_to(self.path).parts[0] not in NOT_OURS:
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
        return removed

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE

    def log(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one event; fsync so an event that was logged survives a kill -9."""
        record = {"t": round(time.time(), 3), "event": event, **fields}
        line = json.dumps(record, default=str, ensure_ascii=False)
        with self.events_path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return record

    def events(self, event: str | None = None) -> list[dict[str, Any]]:
        return [e for e in read_events(self.events_path) if event is None or e.get("event") == event]

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        atomic_write_json(self.path / CHECKPOINT_FILE, state)

    def load_checkpoint(self) -> dict[str, Any] | None:
        path = self.path / CHECKPOINT_FILE
        return json.loads(path.read_text()) if path.exists() else None
