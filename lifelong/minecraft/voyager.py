"""Import from Voyager's layout: ``skill/code/*.js``, ``skill/description/*.txt``, ``skill/skills.json``.

Registered as the import format ``voyager`` by :mod:`lifelong.minecraft.registration`, so the
library's import (:mod:`lifelong.library_io`) reads it without knowing Minecraft; it reads through
that module's checked helpers (paths inside the source, no links, size limits), as the built-in
formats do. A program's calls are decided where every program's are: :func:`program_info`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lifelong.library import check_name
from lifelong.library_io import (
    MAX_CODE_BYTES,
    MAX_TABLE_BYTES,
    Budget,
    ImportRefused,
    Pending,
    checked_record,
    read_text,
)
from lifelong.minecraft.program import program_info
from lifelong.minecraft.registration import PROGRAM, WORLD
from lifelong.worlds import kinds

LAYOUT = "skill/skills.json"
"""What :func:`lifelong.library_io.detect_format` names when it recognises no format."""

DESCRIPTION = re.compile(r"//\s?(.*)")


def detect(src: Path) -> bool:
    return (src / "skill" / "skills.json").exists() or (src / "skills.json").exists()


def read(src: Path, budget: Budget) -> list[Pending]:
    """Every skill of a Voyager ``skill/`` folder, validated, as Minecraft programs."""
    root = src / "skill" if (src / "skill" / "skills.json").exists() else src
    try:
        table = json.loads(read_text(root, "skills.json", MAX_TABLE_BYTES, budget))
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"{root / 'skills.json'} is not valid JSON: {exc}") from exc
    if not isinstance(table, dict) or not all(isinstance(e, dict | None) for e in table.values()):
        raise ImportRefused(f"{root / 'skills.json'} must map skill names to {{code, description}}")
    pending = []
    for name, entry in sorted(table.items()):
        code, described = _texts(root, check_name(name), entry or {}, budget)
        record = {"name": check_name(name), "kind": PROGRAM, "world": WORLD, "code_file": kinds()[PROGRAM].code_file,
                  "description": _description(described or "", name),
                  "calls": program_info(code).skills(set(table)),
                  "evidence": {"source": "voyager"}}
        pending.append(Pending(checked_record(record, root / "skills.json"), code))
    return pending


def _texts(root: Path, name: str, entry: dict[str, Any], budget: Budget) -> tuple[str, str]:
    """A Voyager skill's code and description stub: from skills.json, else from its files."""
    code = entry.get("code") or _read_optional(root, f"code/{name}.js", budget)
    described = entry.get("description") or _read_optional(root, f"description/{name}.txt", budget)
    if not isinstance(code, str) or not isinstance(described, str):
        raise ImportRefused(f"Voyager skill {name!r}: code and description must be text")
    if not code:
        raise ImportRefused(f"Voyager skill {name!r} has no code in skills.json or code/{name}.js")
    if len(code.encode()) > MAX_CODE_BYTES:
        raise ImportRefused(f"refusing Voyager skill {name!r}: its code is over MAX_CODE_BYTES "
                            f"({MAX_CODE_BYTES:,}); nothing was imported")
    return code, described


def _read_optional(root: Path, rel: str, budget: Budget) -> str:
    path = root / rel
    return read_text(root, rel, MAX_CODE_BYTES, budget) if path.exists() or path.is_symlink() else ""


def _description(text: str, name: str) -> str:
    """Voyager stores descriptions as a function stub whose comment lines are the description."""
    comments = DESCRIPTION.findall(text)
    described = " ".join(c.strip() for c in comments) if comments else text.strip()
    return described or f"Voyager skill {name}"
