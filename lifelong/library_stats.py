"""How a skill library grew and how it was used: reuse, call-graph depth, retrieval hit rate.

Read from the library's files alone (through :class:`lifelong.web.catalog.Catalog`, which already
derives each skill's callers from the ``calls`` its records list), so it works on any run's
``--library`` after the fact:

- reuse: how many later skills call each skill (its callers in the library);
- depth: the longest chain of library calls below a skill (0 for a skill that calls none);
- retrieval hit rate: of the rounds that began with skills in the library, the share whose
  program called one. The writer sees library skills only through retrieval (the prompt lists the
  top-k retrieved), so a call means retrieval brought up a skill the program could use. Per
  skill, the library also counts ``usage.retrieved`` and ``usage.used`` (``used`` includes the
  callees loaded with a called skill, so it is not a share of ``retrieved``).

Skills over iterations and the rounds' calls come from the run's events (the bench table's
``skills`` and ``library_calls`` columns, :func:`lifelong.minecraft.bench.run_rows`).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from lifelong.library import SkillLibrary
from lifelong.web.catalog import Catalog


def call_depths(calls: dict[str, list[str]]) -> dict[str, int]:
    """Longest chain of calls below each skill, counting only callees in ``calls`` (library
    skills; primitives are not in it). A cycle, which a verified library should not hold, is
    cut where it closes rather than looping."""
    depths: dict[str, int] = {}

    def depth(name: str, path: frozenset[str]) -> int:
        if name in depths:
            return depths[name]
        below = [depth(c, path | {name}) + 1 for c in calls.get(name, []) if c in calls and c not in path]
        depths[name] = max(below, default=0)
        return depths[name]

    for name in calls:
        depth(name, frozenset())
    return depths


def library_stats(root: Path) -> dict[str, Any]:
    """The per-skill table (reuse, depth, retrieved, used, created) and the library's totals."""
    catalog = Catalog(SkillLibrary(root), background=False)
    skills = {name: catalog.get(name) for name in catalog.library.names()}
    skills = {k: v for k, v in skills.items() if v is not None}
    depths = call_depths({k: list(v.calls) for k, v in skills.items()})
    rows = sorted(({"skill": name, "reuse": len(catalog.callers(name)), "depth": depths[name],
                    "retrieved": s.usage.retrieved, "used": s.usage.used, "created": s.created}
                   for name, s in skills.items()), key=lambda r: r["created"])
    return {"skills": rows, "count": len(rows), "max_depth": max(depths.values(), default=0),
            "reused": sum(1 for r in rows if r["reuse"] > 0)}


def retrieval_hit_rate(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(hits, rounds) over one run's table rows: rounds that began with a non-empty library, and
    those whose program called a library skill."""
    rows = sorted(rows, key=lambda r: r["iteration"])
    eligible = [now for before, now in pairwise(rows) if before["skills"] > 0]
    return sum(1 for r in eligible if r["library_calls"] > 0), len(eligible)
