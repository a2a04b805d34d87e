"""Moving skills in and out of a library: zip, plain folder, Agent Skills, and Voyager's layout.

Formats
  ``dir``           ``manifest.json`` + ``skills/<name>/v<k>/{skill.json, code.*, artifacts/}``:
                    the library's own files, every version, so lineage survives the trip.
  ``zip``           the ``dir`` format in one archive.
  ``agent-skills``  a folder per skill holding ``SKILL.md`` (YAML front matter ``name``,
                    ``description``, then the code in a fenced block); latest versions only.
  a world's own     (import only) registered by the world (:mod:`lifelong.worlds`), e.g.
                    ``voyager``: Voyager's ``skill/`` folder (:mod:`lifelong.minecraft.voyager`).
                    Such a module has ``detect(src) -> bool`` and ``read(src, budget) -> [Pending]``
                    and reads through :func:`read_text` and :func:`checked_record`, so the checks
                    below hold for it too.

Imports are all-or-nothing: everything is read and validated first (paths inside archives,
the manifest's schema, every referenced file), and only then written to the library, in one
transaction that removes what it wrote if a write fails.

A source is untrusted: every path it names is checked by :func:`member_path` (relative, no
'..'), nothing is read through a symbolic link, and every file has a size limit, so an import
can neither read files outside the source nor fill the disk.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from lifelong import worlds
from lifelong.library import LibraryError, Progress, Skill, SkillLibrary, check_name
from lifelong.worlds import kind_for_language, kinds, language_of

EXPORT_FORMATS = ("zip", "dir", "agent-skills")
BUILTIN_IMPORT_FORMATS = ("auto", "zip", "dir", "agent-skills")
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "lifelong-skill-library"

MAX_CODE_BYTES = 1_000_000
"""A skill's code file or SKILL.md. Learned programs are a few KB; a megabyte is far beyond any,
and stops a hostile source from planting a huge file that every prompt would then carry."""
MAX_RECORD_BYTES = 1_000_000
"""A ``skill.json``: a description, evidence and counters, a few KB in practice."""
MAX_TABLE_BYTES = 64_000_000
"""A ``manifest.json`` or Voyager's ``skills.json``, which lists every skill (and, for Voyager,
holds all their code): room for tens of thousands of skills."""
MAX_ARTIFACT_BYTES = 512_000_000
"""One artifact (a file, or a folder counted whole): policy checkpoints and plots are KB to tens
of MB; this leaves room for large networks while refusing a disk-filling file."""
MAX_IMPORT_BYTES = 2_000_000_000
"""Everything one import reads, and everything a zip may expand to (checked against both the
sizes its directory declares and the bytes it really inflates to, against zip bombs)."""
MAX_ARCHIVE_MEMBERS = 100_000
"""Files in one zip: an export holds 2-3 per skill version; this bounds inode use."""


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


class Budget:
    """Counts the bytes one import reads, against MAX_IMPORT_BYTES (every reader takes one)."""

    def __init__(self, source: Path) -> None:
        self.source, self.used = source, 0

    def take(self, size: int, what: str) -> None:
        self.used += size
        if self.used > MAX_IMPORT_BYTES:
            raise ImportRefused(
                f"refusing {self.source}: it holds more than {MAX_IMPORT_BYTES:,} bytes (reached at "
                f"{what}; MAX_IMPORT_BYTES in lifelong/library_io.py); split it into smaller "
                "imports. Nothing was imported"
            )


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
        body = f"# {skill.name}\n\n{skill.description}\n\n```{language_of(skill.code_file)}\n{code.rstrip()}\n```\n"
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
    for fmt, module in _world_formats().items():
        if module.detect(src):
            return fmt
    if any(src.glob("*/SKILL.md")):
        return "agent-skills"
    layouts = "".join(f", {module.LAYOUT} ({fmt})" for fmt, module in _world_formats().items())
    raise ImportRefused(
        f"cannot tell the format of {src}: expected {MANIFEST}{layouts} or "
        "*/SKILL.md (Agent Skills). Pass --format explicitly."
    )


def import_formats() -> tuple[str, ...]:
    """The formats ``import`` reads: the built-in ones, then those the worlds registered."""
    return BUILTIN_IMPORT_FORMATS + tuple(worlds.import_formats())


def _world_formats() -> dict[str, ModuleType]:
    return {fmt: importlib.import_module(module) for fmt, module in worlds.import_formats().items()}


def import_library(library: SkillLibrary, src: Path, fmt: str = "auto",
                   on_progress: Progress | None = None) -> list[Skill]:
    """Read ``src`` completely, validate it, then add every skill. Returns the stored records.

    ``on_progress`` is told ``(added, total)`` as the skills are written."""
    _check_format(fmt, import_formats())
    src = Path(src)
    if not src.exists():
        raise ImportRefused(f"{src} does not exist")
    fmt = detect_format(src) if fmt == "auto" else fmt
    budget = Budget(src)
    if fmt == "zip":
        with tempfile.TemporaryDirectory() as tmp:
            _safe_extract(src, Path(tmp))
            return _store(library, _read_dir(Path(tmp), budget), on_progress)
    readers = {"dir": _read_dir, "agent-skills": _read_agent_skills,
               **{name: module.read for name, module in _world_formats().items()}}
    return _store(library, readers[fmt](src, budget), on_progress)


def _store(library: SkillLibrary, pending: list[Pending], on_progress: Progress | None = None) -> list[Skill]:
    """Add every pending skill in one transaction: all of them land, or none.

    A skill already stored with the same code (at any version) is not added again, so
    importing the same lineage twice changes nothing.
    """
    stored = []
    with library.transaction():
        for item in pending:
            rec = item.record
            stored.append(library.add(
                rec["name"], item.code, kind=rec["kind"], description=rec["description"],
                task=rec.get("task", ""), calls=rec.get("calls", []), evidence=rec.get("evidence"),
                world=rec["world"], artifacts=item.artifacts,
                created=rec.get("created"), match_any_version=True,
            ))
            if on_progress is not None:
                on_progress(len(stored), len(pending))
    return stored


def member_path(rel: str, source: Path | str) -> PurePosixPath:
    """``rel`` as a path relative to the source, or ImportRefused.

    The one check for every path a source names (zip members, manifest entries, ``code_file``,
    artifacts): an absolute path, a drive letter or a '..' would read or write outside the
    source (zip-slip). Backslashes count as separators, as Windows tools write them.
    """
    posix = rel.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if not parts or posix.startswith("/") or re.match(r"^[A-Za-z]:", posix) or ".." in parts or "\0" in rel:
        raise ImportRefused(
            f"refusing {source}: path {rel!r} is empty, absolute or has '..' (zip-slip); "
            "an export only names paths inside itself. Nothing was imported"
        )
    return PurePosixPath(posix)


def _safe_extract(archive_path: Path, dest: Path) -> None:
    """Extract after checking every member (path, type, declared size); refuse the whole
    archive on the first bad one. Bytes are counted as they inflate, and each member's size
    and CRC must match its declaration, so a lying header cannot expand past the limits."""
    try:
        with zipfile.ZipFile(archive_path) as archive:
            infos = archive.infolist()
            _check_members(archive_path, infos)
            for info in infos:
                if not info.is_dir():
                    _extract_member(archive, info, dest / member_path(info.filename, archive_path))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error) as exc:
        raise ImportRefused(
            f"{archive_path} is not a readable zip archive ({exc}); export it again. "
            "Nothing was imported"
        ) from exc


def _check_members(archive_path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise ImportRefused(f"refusing {archive_path}: {len(infos):,} files, more than "
                            f"MAX_ARCHIVE_MEMBERS ({MAX_ARCHIVE_MEMBERS:,}); nothing was imported")
    for info in infos:
        member_path(info.filename, archive_path)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ImportRefused(f"refusing {archive_path}: member {info.filename!r} is a symbolic "
                                "link; nothing was imported")
        if info.file_size > MAX_ARTIFACT_BYTES:
            raise ImportRefused(f"refusing {archive_path}: member {info.filename!r} declares "
                                f"{info.file_size:,} bytes, over MAX_ARTIFACT_BYTES "
                                f"({MAX_ARTIFACT_BYTES:,}); nothing was imported")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_IMPORT_BYTES:
        raise ImportRefused(f"refusing {archive_path}: it expands to {declared:,} bytes, over "
                            f"MAX_IMPORT_BYTES ({MAX_IMPORT_BYTES:,}); nothing was imported")


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member, stopping at its declared size; then its CRC must match."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written, crc = 0, 0
    with archive.open(info) as src, target.open("wb") as out:
        while block := src.read(1 << 20):
            written += len(block)
            if written > info.file_size:
                break
            crc = zlib.crc32(block, crc)
            out.write(block)
    if written != info.file_size or crc != info.CRC:
        raise ImportRefused(
            f"refusing {archive.filename}: member {info.filename!r} inflates to other bytes than "
            "its header declares (a zip bomb, or a damaged archive); nothing was imported"
        )


def _read_dir(src: Path, budget: Budget) -> list[Pending]:
    if not (src / MANIFEST).exists():
        raise ImportRefused(f"{src} has no {MANIFEST}; it is not an exported library")
    try:
        manifest = Manifest.model_validate_json(read_text(src, MANIFEST, MAX_TABLE_BYTES, budget))
    except ValidationError as exc:
        raise ImportRefused(f"malformed {MANIFEST} in {src}: {_first_error(exc)}; nothing was imported") from exc
    if manifest.format != MANIFEST_FORMAT:
        raise ImportRefused(f"{MANIFEST} format is {manifest.format!r}, expected {MANIFEST_FORMAT!r}")
    pending = []
    for entry in sorted(manifest.skills, key=lambda e: (e.name, e.version)):
        folder = _inside(src, entry.path)
        try:
            record = Skill.model_validate_json(read_text(folder, "skill.json", MAX_RECORD_BYTES, budget))
        except ValidationError as exc:
            raise ImportRefused(f"skill {entry.name} v{entry.version} at {entry.path}/skill.json is "
                                f"malformed: {_first_error(exc)}; nothing was imported") from exc
        check_name(record.name)
        code = read_text(folder, record.code_file, MAX_CODE_BYTES, budget)
        artifacts = {a: _artifact(folder / "artifacts", a, budget) for a in record.artifacts}
        pending.append(Pending(record.model_dump(), code, artifacts))
    return pending


def _inside(root: Path, rel: str) -> Path:
    """``root/rel``, refusing a path that escapes ``root`` or passes through a symbolic link
    (a link would let the source name any file on this machine)."""
    path = root
    for part in member_path(rel, root).parts:
        path = path / part
        if path.is_symlink():
            raise ImportRefused(f"refusing {path}: it is a symbolic link; an import reads only "
                                "real files inside the source. Nothing was imported")
    return path


def read_text(root: Path, rel: str, limit: int, budget: Budget) -> str:
    """The UTF-8 text of ``root/rel``: a regular file inside the source, at most ``limit`` bytes."""
    path = _inside(root, rel)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ImportRefused(f"refusing {path}: not a regular file; nothing was imported")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ImportRefused(f"{path} is unreadable ({exc.strerror or exc}); the source is "
                            "incomplete, export it again. Nothing was imported") from exc
    if len(data) > limit:
        raise ImportRefused(f"refusing {path}: larger than {limit:,} bytes, the limit for this kind "
                            "of file (see lifelong/library_io.py); nothing was imported")
    budget.take(len(data), str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"refusing {path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                            "nothing was imported") from exc


def _artifact(root: Path, rel: str, budget: Budget) -> Path:
    """An artifact's path, after checking that it exists, holds only regular files and folders
    (no links, devices or pipes) and stays within MAX_ARTIFACT_BYTES."""
    path = _inside(root, rel)
    if not path.exists():
        raise ImportRefused(f"artifact {path} is missing; the source is incomplete, export it "
                            "again. Nothing was imported")
    files = [path] if not path.is_dir() else sorted(path.rglob("*"))
    size = 0
    for file in files:
        mode = file.lstat().st_mode
        if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ImportRefused(f"refusing {file}: artifacts may hold only regular files and "
                                "folders (no symbolic links, devices or pipes); nothing was imported")
        size += file.stat().st_size if stat.S_ISREG(mode) else 0
    if size > MAX_ARTIFACT_BYTES:
        raise ImportRefused(f"refusing artifact {path}: {size:,} bytes, over MAX_ARTIFACT_BYTES "
                            f"({MAX_ARTIFACT_BYTES:,}); nothing was imported")
    budget.take(size, str(path))
    return path


def checked_record(record: dict[str, Any], where: Path) -> dict[str, Any]:
    """A record read from a foreign format, type-checked as a Skill before anything is written."""
    try:
        return Skill.model_validate(record).model_dump()
    except ValidationError as exc:
        raise ImportRefused(f"{where}: {_first_error(exc)}; nothing was imported") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or 'document'}: {err['msg']}"


FRONT_MATTER = re.compile(r"^---\s*\n(.*?)\n---\s*\n(.*)$", re.DOTALL)
CODE_BLOCK = re.compile(r"```(\w*)\s*\n(.*?)```", re.DOTALL)


def _read_agent_skills(src: Path, budget: Budget) -> list[Pending]:
    pending = []
    for skill_md in sorted(src.glob("*/SKILL.md")):
        folder = skill_md.parent.name
        text = read_text(src, f"{folder}/SKILL.md", MAX_CODE_BYTES, budget)
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
        if not isinstance(meta, dict):
            raise ImportRefused(f"{skill_md}: front matter `metadata` must be a mapping")
        blocks = CODE_BLOCK.findall(match.group(2))
        if not blocks:
            raise ImportRefused(f"{skill_md}: no fenced code block with the skill's code")
        lang, code = blocks[-1]
        siblings = sorted(skill_md.parent.glob("code.*"))
        if siblings:  # exact bytes when we exported it
            code = read_text(src, f"{folder}/{siblings[0].name}", MAX_CODE_BYTES, budget)
        kind = _agent_skill_kind(skill_md, meta.get("kind"), lang)
        record = {"name": check_name(str(front["name"])), "kind": kind,
                  "description": str(front["description"]), "task": meta.get("task", ""),
                  "world": meta.get("world") or kinds()[kind].world, "calls": meta.get("calls", []),
                  "code_file": kinds()[kind].code_file}
        pending.append(Pending(checked_record(record, skill_md), code))
    if not pending:
        raise ImportRefused(f"{src} holds no */SKILL.md")
    return pending


def _agent_skill_kind(skill_md: Path, named: Any, language: str) -> str:
    """The kind a SKILL.md names in its metadata, else the first registered kind written in the
    language of its code fence; refused when neither is a registered kind."""
    guessed = kind_for_language(language)
    kind = named or (guessed.name if guessed else None)
    if kind not in kinds():
        raise ImportRefused(f"{skill_md}: kind {kind!r} is not one of {', '.join(kinds())}"
                            + ("" if named else f" (guessed from the code block's language {language!r})"))
    return str(kind)
