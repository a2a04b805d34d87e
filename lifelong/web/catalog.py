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


class Catalog:
    """Latest record of every skill, callers (the reverse of ``calls``), filters and sorting."""

    def __init__(self, library: SkillLibrary, ttl_s: float = 1.0) -> None:
        self.library = library
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._records: dict[str, Skill] = {}
        self._stamps: dict[str, tuple[int, int]] = {}  # name -> (folder mtime, skill.json mtime)
        self._callers: dict[str, list[str]] = {}
        self._sorted: dict[str, list[Skill]] = {}
        self._checked = -math.inf

    # ---- freshness ------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Check the files on the next access (after an import or a delete through the web)."""
        self._checked = -math.inf

    def refresh(self) -> None:
        """Re-read the records whose files changed since the last check (at most once per ttl)."""
        if time.monotonic() - self._checked < self.ttl_s:
            return
        with self._lock:
            if time.monotonic() - self._checked < self.ttl_s:
                return
            changed = self._scan()
            if changed:
                self._derive()
            self._checked = time.monotonic()

    def _scan(self) -> bool:
        seen: set[str] = set()
        changed = False
        with os.scandir(self.library.skills_dir) as entries:
            for entry in entries:
                if not NAME_RE.match(entry.name) or not entry.is_dir():
                    continue
                seen.add(entry.name)
                changed |= self._check(entry.name, entry.stat().st_mtime_ns)
        for gone in set(self._records) - seen:
            del self._records[gone], self._stamps[gone]
            changed = True
        return changed

    def _check(self, name: str, folder_mtime: int) -> bool:
        """Re-read ``name`` if its folder or its latest record changed; True if anything did."""
        old = self._stamps.get(name)
        record_mtime = self._record_mtime(self._records[name]) if name in self._records else 0
        if old is not None and old == (folder_mtime, record_mtime):
            return False
        try:
            skill = self.library.get(name)
        except (LibraryError, OSError, ValueError):  # a version mid-write, or an empty folder
            changed = name in self._records
            self._records.pop(name, None)
            self._stamps.pop(name, None)
            return changed
        self._records[name] = skill
        self._stamps[name] = (folder_mtime, self._record_mtime(skill))
        return True

    def _record_mtime(self, skill: Skill) -> int:
        try:
            return (self.library.artifact_dir(skill).parent / "skill.json").stat().st_mtime_ns
        except OSError:
            return -1

    def _derive(self) -> None:
        callers: dict[str, list[str]] = {}
        for skill in self._records.values():
            for callee in skill.calls:
                callers.setdefault(callee, []).append(skill.name)
        self._callers = {k: sorted(v) for k, v in callers.items()}
        values = list(self._records.values())
        self._sorted = {key: sorted(values, key=fn) for key, (_, fn) in SORTS.items()}

    # ---- queries ------------------------------------------------------------------------------

    def get(self, name: str) -> Skill | None:
        self.refresh()
        return self._records.get(name)

    def __len__(self) -> int:
        self.refresh()
        return len(self._records)

    def callers(self, name: str) -> list[str]:
        self.refresh()
        return list(self._callers.get(name, []))

    def worlds(self) -> list[str]:
        self.refresh()
        return sorted({s.world for s in self._records.values()})

    def kinds(self) -> list[str]:
        self.refresh()
        return sorted({s.kind for s in self._records.values()})

    def page(self, world: str | None = None, kind: str | None = None, sort: str = "recent",
             page: int = 1, per: int = 50) -> Page:
        """Skills of ``world`` and ``kind`` (None: any) in ``sort`` order, page ``page`` (from 1)."""
        self.refresh()
        if sort not in SORTS:
            raise LibraryError(f"unknown sort {sort!r}; sorts are: {', '.join(SORTS)}")
        rows = self._sorted.get(sort, [])
        if world or kind:
            rows = [s for s in rows if (not world or s.world == world) and (not kind or s.kind == kind)]
        start = (max(1, page) - 1) * per
        return Page(rows[start:start + per], len(rows), max(1, page), per)

