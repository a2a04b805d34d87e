"""Moving skills in and out of a library: zip, plain folder, Agent Skills, and Voyager's layout.

Formats
  ``dir``           ``manifest.json`` + ``skills/<name>/v<k>/{skill.json, code.*, artifacts/}``:
                    the library's own files, every version, so lineage survives the trip.
  ``zip``           the ``dir`` format in one archive.
  ``agent-skills``  a folder per skill holding ``SKILL.md`` (YAML front matter ``name``,
                    ``description``, then the code in a fenced block); latest versions only.
  ``voyager``       (import only) Voyager's ``skill/code/*.js``, ``skill/description/*.txt``,
                    ``skill/skills.json``.

Imports are all-or-nothing: everything is read and validated first (paths inside archives,
the manifest's schema, every referenced file), and only then written to the library.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from lifelong.library import KINDS, LibraryError, Skill, SkillLibrary, check_name, find_calls

EXPORT_FORMATS = ("zip", "dir", "agent-skills")
IMPORT_FORMATS = ("auto", "zip", "dir", "agent-skills", "voyager")
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "lifelong-skill-library"
LANG = {"minecraft-program": "javascript", "reward-function": "python", "policy": "python"}


class ImportRefused(LibraryError):
    """The source is unsafe or malformed; nothing was imported."""


class ManifestEntry(BaseModel):
    name: str
    version: int
    path: str


class Manifest(BaseModel):
    format: str
    format_version: int = 1
    skills: list[ManifestEntry]


@dataclass
class Pending:
    """A skill read from a source, validated, not yet written."""

    record: dict[str, Any]
    code: str
    artifacts: dict[str, Path] = field(default_factory=dict)


def _check_format(fmt: str, valid: tuple[str, ...]) -> str:
    if fmt not in valid:
        raise LibraryError(f"unknown format {fmt!r}; valid formats are: {', '.join(valid)}")
    return fmt


# ---- export -------------------------------------------------------------------------------

def export_library(library: SkillLibrary, dest: Path, fmt: str = "zip") -> Path:
    """Write the library to ``dest`` in ``fmt``; returns what was written."""
    _check_format(fmt, EXPORT_FORMATS)
    dest = Path(dest)
    if dest.exists() and (dest.is_file() or any(dest.iterdir())):
        raise LibraryError(f"{dest} already exists and is not empty; choose a new destination")
    if fmt == "agent-skills":
        return _export_agent_skills(library, dest)
    if fmt == "dir":
        return _export_dir(library, dest)
    with tempfile.TemporaryDirectory() as tmp:
        folder = _export_dir(library, Path(tmp) / "library")
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
    return dest


def _export_dir(library: SkillLibrary, dest: Path) -> Path:
    entries = []
    for name in library.names():
        for skill in library.versions(name):
            rel = f"skills/{name}/v{skill.version}"
            shutil.copytree(library.skills_dir / name / f"v{skill.version}", dest / rel)
            entries.append(ManifestEntry(name=name, version=skill.version, path=rel))
    manifest = Manifest(format=MANIFEST_FORMAT, skills=entries)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / MANIFEST).write_text(manifest.model_dump_json(indent=2))
    return dest


def _export_agent_skills(library: SkillLibrary, dest: Path) -> Path:
    for skill in library.list():
        folder = dest / skill.name
        folder.mkdir(parents=True)
        front = {
            "name": skill.name,
            "description": skill.description,
            "metadata": {"kind": skill.kind, "world": skill.world, "version": skill.version,
                         "task": skill.task, "calls": skill.calls},
        }
        code = library.code(skill.name)
        body = f"# {skill.name}\n\n{skill.description}\n\n```{LANG[skill.kind]}\n{code.rstrip()}\n```\n"
        (folder / "SKILL.md").write_text(f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n\n{body}")
        (folder / skill.code_file).write_text(code)
    dest.mkdir(parents=True, exist_ok=True)
    return dest


# ---- import -------------------------------------------------------------------------------

def detect_format(src: Path) -> str:
    if src.is_file():
        if zipfile.is_zipfile(src):
            return "zip"
        raise ImportRefused(f"{src} is a file but not a zip archive; pass a zip or a folder")
    if (src / MANIFEST).exists():
        return "dir"
    if (src / "skill" / "skills.json").exists() or (src / "skills.json").exists():
        return "voyager"
    if any(src.glob("*/SKILL.md")):
        return "agent-skills"
    raise ImportRefused(
        f"cannot tell the format of {src}: expected {MANIFEST}, skill/skills.json (Voyager) or "
        "*/SKILL.md (Agent Skills). Pass --format explicitly."
    )


def import_library(library: SkillLibrary, src: Path, fmt: str = "auto") -> list[Skill]:
    """Read ``src`` completely, validate it, then add every skill. Returns the stored records."""
    _check_format(fmt, IMPORT_FORMATS)
    src = Path(src)
    if not src.exists():
        raise ImportRefused(f"{src} does not exist")
    fmt = detect_format(src) if fmt == "auto" else fmt
    if fmt == "zip":
        with tempfile.TemporaryDirectory() as tmp:
            _safe_extract(src, Path(tmp))
            return _store(library, _read_dir(Path(tmp)))
    readers = {"dir": _read_dir, "agent-skills": _read_agent_skills, "voyager": _read_voyager}
    return _store(library, readers[fmt](src))


def _store(library: SkillLibrary, pending: list[Pending]) -> list[Skill]:
    stored = []
    for item in pending:
        rec = item.record
        stored.append(library.add(
            rec["name"], item.code, kind=rec["kind"], description=rec["description"],
            task=rec.get("task", ""), calls=rec.get("calls", []), evidence=rec.get("evidence"),
            world=rec.get("world", "minecraft"), artifacts=item.artifacts, created=rec.get("created"),
        ))
    return stored


def _safe_extract(archive_path: Path, dest: Path) -> None:
    """Refuse the whole archive if any member could land outside ``dest`` (zip-slip)."""
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                raise ImportRefused(
                    f"refusing {archive_path}: member {name!r} has an absolute path or '..' "
                    "(zip-slip); nothing was imported"
                )
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise ImportRefused(f"refusing {archive_path}: member {name!r} is a symbolic link")
        archive.extractall(dest)


def _read_dir(src: Path) -> list[Pending]:
    try:
        manifest = Manifest.model_validate_json((src / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise ImportRefused(f"{src} has no {MANIFEST}; it is not an exported library") from exc
    except ValidationError as exc:
        raise ImportRefused(f"malformed {MANIFEST} in {src}: {_first_error(exc)}; nothing was imported") from exc
    if manifest.format != MANIFEST_FORMAT:
        raise ImportRefused(f"{MANIFEST} format is {manifest.format!r}, expected {MANIFEST_FORMAT!r}")
    pending = []
    for entry in sorted(manifest.skills, key=lambda e: (e.name, e.version)):
        folder = _inside(src, entry.path)
        try:
            record = Skill.model_validate_json((folder / "skill.json").read_text())
            code = (folder / record.code_file).read_text()
        except (OSError, ValidationError) as exc:
            raise ImportRefused(f"skill {entry.name} v{entry.version} at {entry.path} is unreadable: {exc}") from exc
        check_name(record.name)
        artifacts = {a: _inside(folder / "artifacts", a) for a in record.artifacts}
        pending.append(Pending(record.model_dump(), code, artifacts))
    return pending


def _inside(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ImportRefused(f"path {rel!r} points outside the source; nothing was imported")
    return path


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or 'document'}: {err['msg']}"


FRONT_MATTER = re.compile(r"^---\s*\n(.*?)\n---\s*\n(.*)$", re.DOTALL)
CODE_BLOCK = re.compile(r"```(\w*)\s*\n(.*?)```", re.DOTALL)


def _read_agent_skills(src: Path) -> list[Pending]:
    pending = []
    for skill_md in sorted(src.glob("*/SKILL.md")):
        text = skill_md.read_text()
        match = FRONT_MATTER.match(text)
        if not match:
            raise ImportRefused(f"{skill_md} has no YAML front matter (--- name/description ---)")
        try:
            front = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise ImportRefused(f"{skill_md}: front matter is not valid YAML: {exc}") from exc
        if not isinstance(front, dict) or not front.get("name") or not front.get("description"):
            raise ImportRefused(f"{skill_md}: front matter needs `name` and `description`")
        meta = front.get("metadata") or {}
        blocks = CODE_BLOCK.findall(match.group(2))
        if not blocks:
            raise ImportRefused(f"{skill_md}: no fenced code block with the skill's code")
        lang, code = blocks[-1]
        siblings = sorted(skill_md.parent.glob("code.*"))
        code = siblings[0].read_text() if siblings else code  # exact bytes when we exported it
        kind = meta.get("kind") or ("minecraft-program" if lang in ("js", "javascript") else "reward-function")
        if kind not in KINDS:
            raise ImportRefused(f"{skill_md}: kind {kind!r} is not one of {', '.join(KINDS)}")
        record = {"name": check_name(str(front["name"])), "kind": kind,
                  "description": str(front["description"]), "task": meta.get("task", ""),
                  "world": meta.get("world", "minecraft" if kind == "minecraft-program" else "robotics"),
                  "calls": meta.get("calls", [])}
        pending.append(Pending(record, code))
    if not pending:
        raise ImportRefused(f"{src} holds no */SKILL.md")
    return pending


VOYAGER_DESCRIPTION = re.compile(r"//\s?(.*)")


def _read_voyager(src: Path) -> list[Pending]:
    root = src / "skill" if (src / "skill" / "skills.json").exists() else src
    try:
        table = json.loads((root / "skills.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ImportRefused(f"{root / 'skills.json'} is unreadable: {exc}") from exc
    if not isinstance(table, dict):
        raise ImportRefused(f"{root / 'skills.json'} must map skill names to {{code, description}}")
    pending = []
    for name, entry in sorted(table.items()):
        code = (entry or {}).get("code") or _read_optional(root / "code" / f"{name}.js")
        described = (entry or {}).get("description") or _read_optional(root / "description" / f"{name}.txt")
        if not code:
            raise ImportRefused(f"Voyager skill {name!r} has no code in skills.json or code/{name}.js")
        record = {"name": check_name(name), "kind": "minecraft-program", "world": "minecraft",
                  "description": _voyager_description(described or "", name),
                  "calls": find_calls(code, table.keys(), own_name=name),
                  "evidence": {"source": "voyager"}}
        pending.append(Pending(record, code))
    return pending


def _read_optional(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _voyager_description(text: str, name: str) -> str:
    """Voyager stores descriptions as a function stub whose comment lines are the description."""
    comments = VOYAGER_DESCRIPTION.findall(text)
    described = " ".join(c.strip() for c in comments) if comments else text.strip()
    return described or f"Voyager skill {name}"
