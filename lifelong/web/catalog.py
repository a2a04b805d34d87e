"""An in-memory view of the skill library's latest records, kept fresh by cheap file checks.

Why not call ``SkillLibrary.list()`` per request: it reads and validates every ``skill.json``,
about a second at 10,000 skills, and the list page must answer in a fraction of that. The
catalog reads each record once and afterwards, at most once per ``ttl_s``, re-reads only the
skills whose files changed: a new version changes the skill's folder, and a usage count rewrites
the latest ``skill.json`` (both are visible as a new mtime; see ``lifelong.library``'s layout).
A running exploration adding skills therefore shows up within ``ttl_s`` without a restart.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lifelong.library import NAME_RE, LibraryError, Skill, SkillLibrary

SORTS: dict[str, tuple[str, Callable[[Skill], tuple]]] = {
    # key: (label, sort key); every sort ends on the name so pages are stable
    "recent": ("newest first", lambda s: (-s.created, s.name)),
    "oldest": ("oldest first", lambda s: (s.created, s.name)),
    "used": ("most used", lambda s: (-s.usage.used, -s.usage.succeeded, s.name)),
    "retrieved": ("most retrieved", lambda s: (-s.usage.retrieved, s.name)),
    "name": ("name", lambda s: (s.name.lower(), s.name)),
}


@dataclass(frozen=True)
class Page:
    """One page of a filtered, sorted listing."""

    skills: list[Skill]
    total: int
    page: int
    per: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per))


@dataclass(frozen=True)
class _Snapshot:
    """What readers see; replaced whole after each refresh, so a reader never sees half of one."""

    records: dict[str, Skill]
    callers: dict[str, list[str]]
    ordered: dict[str, list[Skill]]
    worlds: list[str]


EMPTY = _Snapshot({}, {}, {}, [])


class Catalog:
    """Latest record of every skill, callers (the reverse of ``calls``), filters and sorting.

    After the first load, a stale catalog is rechecked in a background thread while requests
    go on reading the previous snapshot (a recheck stats two files per skill: ~0.1-0.2 s at
    10,000 skills on a slow machine, which no page should wait for). ``background=False``
    rechecks in the caller instead (tests, scripts).
    """

    def __init__(self, library: SkillLibrary, ttl_s: float = 1.0, background: bool = True) -> None:
        self.library = library
        self.ttl_s = ttl_s
        self.background = background
        self._lock = threading.Lock()  # one refresh at a time
        self._snap = EMPTY
        self._stamps: dict[str, tuple[int, str, int]] = {}  # name -> (folder mtime, record path, its mtime)
        self._checked = -math.inf
        self._loaded = False
        self._force = False

    # ---- freshness ------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Recheck the files before the next answer (after an import or a delete here)."""
        self._force = True

    def refresh(self) -> None:
        """Make sure the snapshot is at most ``ttl_s`` old (waiting only when it must)."""
        if not self._force and time.monotonic() - self._checked < self.ttl_s:
            return
        if self.background and self._loaded and not self._force:
            if self._lock.acquire(blocking=False):  # else a refresh is already running
                threading.Thread(target=self._refresh_locked, name="catalog-refresh", daemon=True).start()
            return
        with self._lock:
            self._recheck()

    def _refresh_locked(self) -> None:
        try:
            self._recheck()
        finally:
            self._lock.release()

    def _recheck(self) -> None:
        self._force = False
        records = dict(self._snap.records)
        if self._scan(records):
            self._snap = self._derive(records)
        self._checked = time.monotonic()
        self._loaded = True

    def _scan(self, records: dict[str, Skill]) -> bool:
        seen: set[str] = set()
        changed = False
        with os.scandir(self.library.skills_dir) as entries:
            for entry in entries:
                if not NAME_RE.match(entry.name) or not entry.is_dir():
                    continue
                seen.add(entry.name)
                changed |= self._check(records, entry.name, entry.stat().st_mtime_ns)
        for gone in set(records) - seen:
            del records[gone]
            self._stamps.pop(gone, None)
            changed = True
        return changed

    def _check(self, records: dict[str, Skill], name: str, folder_mtime: int) -> bool:
        """Re-read ``name`` if its folder or its latest record changed; True if anything did."""
        old = self._stamps.get(name)
        if old is not None and old[0] == folder_mtime and _mtime(old[1]) == old[2]:
            return False
        try:
            skill = self.library.get(name)
        except (LibraryError, OSError, ValueError):  # a version mid-write, or an empty folder
            self._stamps.pop(name, None)
            return records.pop(name, None) is not None
        path = str(self.library.artifact_dir(skill).parent / "skill.json")
        records[name] = skill
        self._stamps[name] = (folder_mtime, path, _mtime(path))
        return True

    @staticmethod
    def _derive(records: dict[str, Skill]) -> _Snapshot:
        callers: dict[str, list[str]] = {}
        for skill in records.values():
            for callee in skill.calls:
                callers.setdefault(callee, []).append(skill.name)
        values = list(records.values())
        return _Snapshot(records, {k: sorted(v) for k, v in callers.items()},
                         {key: sorted(values, key=fn) for key, (_, fn) in SORTS.items()},
                         sorted({s.world for s in values}))

    def _current(self) -> _Snapshot:
        self.refresh()
        return self._snap

    # ---- queries ------------------------------------------------------------------------------

    def get(self, name: str) -> Skill | None:
        return self._current().records.get(name)

    def __len__(self) -> int:
        return len(self._current().records)

    def callers(self, name: str) -> list[str]:
        return list(self._current().callers.get(name, []))

    def worlds(self) -> list[str]:
        return list(self._current().worlds)

    def page(self, world: str | None = None, kind: str | None = None, sort: str = "recent",
             page: int = 1, per: int = 50) -> Page:
        """Skills of ``world`` and ``kind`` (None: any) in ``sort`` order, page ``page`` (from 1)."""
        if sort not in SORTS:
            raise LibraryError(f"unknown sort {sort!r}; sorts are: {', '.join(SORTS)}")
        rows = self._current().ordered.get(sort, [])
        if world or kind:
            rows = [s for s in rows if (not world or s.world == world) and (not kind or s.kind == kind)]
        start = (max(1, page) - 1) * per
        return Page(rows[start:start + per], len(rows), max(1, page), per)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1
