"""The skill library: plain files are the truth, a chromadb index makes them searchable.

On disk::

    <root>/skills/<name>/v<k>/skill.json     the record (see :class:`Skill`)
    <root>/skills/<name>/v<k>/code.js|.py    the code
    <root>/skills/<name>/v<k>/artifacts/     optional (a policy checkpoint, plots)
    <root>/index/                            chromadb PersistentClient (disposable)
    <root>/index/embedder.json               which embedder built the index, and its dimension
    <root>/index/seal.json                   checksums of the index's segment files (see below)
    <root>/.lock                             the write lock (see :meth:`SkillLibrary.writing`)
    <root>/.tmp-staging/                     a version being written; absent between writes

Every version of a skill is kept (relearning a name adds ``v<k+1>``; its record names the version
it replaces), and only the latest version of each name is in the index. The index can always be
rebuilt from the files, and is: when it is corrupt, when the embedder changed, or when its ids
and versions disagree with the files (checked each time the index is opened).

Corruption is looked for before chromadb touches the folder, because some damage is not an
error it can raise: garbage in an HNSW segment file can crash the process (SIGSEGV) or silently
return wrong neighbours. So the segment files are sealed with checksums after every index
operation and checked on open, and the sqlite file gets ``PRAGMA quick_check``. What slips past
both (chromadb errors, and the Rust core's panics) is caught on use, and also means: rebuild.

Writers (add, import, delete, usage counts, index writes) hold one lock per library, so two processes
never pick the same version number or half-apply an import.

What gets embedded is the description plus the task, not the code: retrieval is by intent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import filelock
from pydantic import BaseModel, Field, ValidationError

from lifelong.embeddings import DEFAULT_MODEL, Embedder, EmbedderUnavailable
from lifelong.runs import atomic_write_json
from lifelong.worlds import SkillKind, UnknownName
from lifelong.worlds import kind as registered_kind

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")
COLLECTION = "skills"
# Tuned in benchmarks/library_bench.py: the defaults (ef_search=10) give recall@5 ~0.6 here.
HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 200, "max_neighbors": 32}
LOCK_TIMEOUT_S = 600.0
"""How long a writer waits for another process's write (an import copies whole archives);
past that, the wait is reported rather than hanging an agent forever."""
SQLITE_FILE = "chroma.sqlite3"
T = TypeVar("T")
Progress = Callable[[int, int], None]
"""Told ``(done, total)`` as a long operation advances (import, index rebuild), for a progress bar."""


class LibraryError(ValueError):
    """A request the library cannot honour; the message says what to do instead."""


class UnreadableSkill(LibraryError):
    """A skill's ``skill.json`` is damaged; listing and search skip it, naming the file."""


def _is_index_damage(exc: BaseException) -> bool:
    """Whether an error from chromadb means "this index folder is damaged: rebuild it".

    chromadb raises many Exception types for a damaged folder, and its Rust core panics with
    pyo3's ``PanicException``, a BaseException (so ``except Exception`` misses it). A missing
    model or a bad request is not damage: rebuilding would not help.
    """
    if isinstance(exc, (EmbedderUnavailable, LibraryError)):
        return False
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


class Usage(BaseModel):
    retrieved: int = 0
    used: int = 0
    succeeded: int = 0


class Skill(BaseModel):
    """A skill's JSON record (``skill.json``).

    ``kind`` and ``world`` are names registered in :mod:`lifelong.worlds`; reading a record does
    not check them (listing a library needs no world), adding one does.
    """

    name: str
    kind: str
    description: str
    task: str = ""
    world: str
    version: int = 1
    calls: list[str] = Field(default_factory=list)
    evidence: dict[str, Any] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    created: float = Field(default_factory=time.time)
    code_file: str
    code_sha256: str = ""
    artifacts: list[str] = Field(default_factory=list)
    replaces: int | None = None

    @property
    def search_text(self) -> str:
        return f"{self.description}\n{self.task}".strip()


def check_name(name: str) -> str:
    """Names become folder names, so they must be plain identifiers (no '/' or '..')."""
    if not NAME_RE.match(name):
        raise LibraryError(
            f"invalid skill name {name!r}: use letters, digits, '_' or '-', starting with a letter"
        )
    return name


def skill_kind(name: str) -> SkillKind:
    """The registered kind ``name``, or a LibraryError naming the kinds there are."""
    try:
        return registered_kind(name)
    except UnknownName as exc:
        raise LibraryError(str(exc)) from None


def _sha(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class SkillLibrary:
    """Add, look up and retrieve skills. Cheap to open; the index and model load on first use."""

    def __init__(self, root: Path | str, embedder: Embedder | str | None = None) -> None:
        self.root = Path(root)
        self.skills_dir = self.root / "skills"
        self.index_dir = self.root / "index"
        self.staging_dir = self.root / ".tmp-staging"
        self.skills_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(embedder, Embedder):
            self.embedder = embedder
        else:
            self.embedder = Embedder(embedder or DEFAULT_MODEL)
        self._written: list[Path] | None = None  # versions added by the open transaction

    # ---- writing: one writer at a time ----------------------------------------------------

    @cached_property
    def _lock(self) -> filelock.FileLock:
        # One lock object per path in this process (is_singleton), so a second SkillLibrary on
        # the same root re-enters instead of deadlocking against its sibling.
        return filelock.FileLock(self.root / ".lock", timeout=LOCK_TIMEOUT_S, is_singleton=True)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the library's write lock (re-entrant; other processes wait).

        Choosing a version number and renaming it into place must be one step, or two writers
        pick the same number and one fails half-way (ENOTEMPTY on the rename).
        """
        try:
            self._lock.acquire()
        except filelock.Timeout as exc:
            raise LibraryError(
                f"another process has been writing to the skill library {self.root} for over "
                f"{LOCK_TIMEOUT_S:.0f} s; wait for it to finish and retry"
            ) from exc
        if self._lock.lock_counter == 1:
            # Writers clear their staging before releasing the lock, so whatever is there now
            # was left by one that died mid-write.
            shutil.rmtree(self.staging_dir, ignore_errors=True)
        try:
            yield
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the write lock for a batch of adds; if the batch fails, remove what it added.

        This is what makes an import all-or-nothing even when a write fails half-way.
        """
        with self.writing():
            if self._written is not None:  # nested: the outer transaction decides
                yield
                return
            self._written = []
            try:
                yield
            except BaseException:
                self._roll_back(self._written)
                raise
            finally:
                self._written = None

    def _roll_back(self, added: list[Path]) -> None:
        for folder in reversed(added):
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):
                folder.parent.rmdir()  # only when that was the skill's first version
        if added:
            log.warning("rolled back %d skill versions written before the failure", len(added))
            self.close()  # the index may hold them: reopening re-syncs it with the files

    # ---- plain files: the source of truth -------------------------------------------------

    def _versions(self, name: str) -> list[int]:
        folder = self.skills_dir / name
        if not folder.is_dir():
            return []
        return sorted(
            int(p.name[1:]) for p in folder.iterdir()
            if p.name[:1] == "v" and p.name[1:].isdigit() and (p / "skill.json").exists()
        )

    def _version_dir(self, name: str, version: int) -> Path:
        return self.skills_dir / name / f"v{version}"

    def names(self) -> list[str]:
        return sorted(p.name for p in self.skills_dir.iterdir() if p.is_dir() and self._versions(p.name))

    def __contains__(self, name: str) -> bool:
        return bool(NAME_RE.match(name) and self._versions(name))

    def __len__(self) -> int:
        return len(self.names())

    def get(self, name: str, version: int | None = None) -> Skill:
        """The record of ``name`` (its latest version by default); UnreadableSkill if damaged."""
        versions = self._versions(name) if NAME_RE.match(name) else []
        if not versions:
            raise LibraryError(f"no skill named {name!r} in {self.root}; `lifelong skills list` shows them")
        version = versions[-1] if version is None else version
        if version not in versions:
            raise LibraryError(f"skill {name!r} has versions {versions}, not {version}")
        return self._load(self._version_dir(name, version) / "skill.json")

    @staticmethod
    def _load(path: Path) -> Skill:
        try:
            return Skill.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise UnreadableSkill(
                f"{path} is unreadable ({reason}); restore it from a backup or an export, or "
                f"delete the folder {path.parent} to drop that version"
            ) from exc

    def _readable(self, names: Iterable[str]) -> list[Skill]:
        """The latest record of each name, skipping (with a warning) those whose file is damaged,
        so one bad file does not take listing and search down for the whole library."""
        skills = []
        for name in names:
            try:
                skills.append(self.get(name))
            except UnreadableSkill as exc:
                log.warning("skipping skill %r: %s", name, exc)
        return skills

    def versions(self, name: str) -> list[Skill]:
        """The lineage of ``name``, oldest first."""
        return [self.get(name, v) for v in self._versions(name)]

    def code(self, name: str, version: int | None = None) -> str:
        skill = self.get(name, version)
        return (self._version_dir(name, skill.version) / skill.code_file).read_text()

    def artifact_dir(self, skill: Skill) -> Path:
        return self._version_dir(skill.name, skill.version) / "artifacts"

    def list(self, kind: str | None = None, world: str | None = None) -> list[Skill]:
        skills = self._readable(self.names())
        return [s for s in skills if (kind is None or s.kind == kind) and (world is None or s.world == world)]

    def add(
        self,
        name: str,
        code: str,
        kind: str,
        description: str = "",
        task: str = "",
        calls: Iterable[str] = (),
        evidence: dict[str, Any] | None = None,
        world: str | None = None,
        artifacts: dict[str, Path] | None = None,
        created: float | None = None,
        match_any_version: bool = False,
    ) -> Skill:
        """Store a verified skill as a new version; re-adding identical code returns the existing one.

        The idempotence matters for crash recovery: a task redone after ``--resume`` re-adds the
        skill it had already stored, and must not create a duplicate version. Only the latest
        version counts there (code that reverts to an old version is a new version); an import
        passes ``match_any_version`` since it replays a whole lineage, which is already stored
        when the same archive comes in twice.

        ``kind`` must be registered (:mod:`lifelong.worlds`); ``world`` defaults to the world that
        registered it.
        """
        check_name(name)
        spec = skill_kind(kind)
        if not description.strip():
            raise LibraryError(f"skill {name!r} needs a description: retrieval searches by it")
        with self.writing():
            versions = self._versions(name)
            same = self._same_code(name, versions if match_any_version else versions[-1:], code, kind)
            if same is not None:
                return same
            skill = Skill(
                name=name, kind=kind, description=description.strip(), task=task, world=world or spec.world,
                version=(versions[-1] + 1) if versions else 1, calls=sorted(set(calls)),
                evidence=evidence or {}, code_file=spec.code_file, code_sha256=_sha(code),
                artifacts=sorted((artifacts or {}).keys()), replaces=versions[-1] if versions else None,
                **({"created": created} if created is not None else {}),
            )
            self._write_version(skill, code, artifacts or {})
            if self._index_open:
                self._index_upsert([skill])
        return skill

    def _same_code(self, name: str, versions: list[int], code: str, kind: str) -> Skill | None:
        """The newest of ``versions`` holding exactly this code (a damaged record never matches)."""
        sha = _sha(code)
        for version in reversed(versions):
            try:
                stored = self.get(name, version)
            except UnreadableSkill as exc:
                log.warning("%s; adding a new version instead", exc)
                continue
            if stored.code_sha256 == sha and stored.kind == kind:
                return stored
        return None

    def _write_version(self, skill: Skill, code: str, artifacts: dict[str, Path]) -> None:
        """Write into a staging folder, then rename: a version appears whole or not at all."""
        staging = self.staging_dir / f"{skill.name}.v{skill.version}"
        final = self._version_dir(skill.name, skill.version)
        try:
            staging.mkdir(parents=True)
            (staging / skill.code_file).write_text(code)
            for rel, src in artifacts.items():
                dest = staging / "artifacts" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                (shutil.copytree if Path(src).is_dir() else shutil.copy2)(src, dest)
            (staging / "skill.json").write_text(skill.model_dump_json(indent=2))
            final.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(final)
        finally:
            shutil.rmtree(self.staging_dir, ignore_errors=True)
        if self._written is not None:
            self._written.append(final)

    def delete(self, name: str) -> None:
        """Remove every version of ``name``, under the write lock.

        The folder is first renamed into the staging area, so readers see all of the skill or
        none of it, and a deletion cut short is finished by the next writer's cleanup.
        """
        if name not in self:
            raise LibraryError(f"no skill named {name!r} in {self.root}; `lifelong skills list` shows them")
        with self.writing():
            self.staging_dir.mkdir(parents=True, exist_ok=True)
            (self.skills_dir / name).rename(self.staging_dir / f"deleted-{name}")
            shutil.rmtree(self.staging_dir, ignore_errors=True)
            if self._index_open:
                self._with_index(lambda collection: collection.delete(ids=[name]))

    def record_use(self, name: str, success: bool) -> Skill:
        """Count that a program used this skill (the latest version) and whether it worked."""
        def count(skill: Skill) -> None:
            skill.usage.used += 1
            skill.usage.succeeded += int(success)

        return self._update_usage(name, None, count)

    def _update_usage(self, name: str, version: int | None, change: Callable[[Skill], None]) -> Skill:
        """Read, change and save a record under the lock, so concurrent counts are not lost."""
        with self.writing():
            skill = self.get(name, version)
            change(skill)
            atomic_write_json(
                self._version_dir(skill.name, skill.version) / "skill.json", skill.model_dump(mode="json")
            )
        return skill

    # ---- the index: derived, disposable ---------------------------------------------------

    _index_open = False

    @cached_property
    def _collection(self):
        with self.writing():
            collection = self._open_collection()
            self._index_open = True
        return collection

    def _open_collection(self):
        """Open the index, first rebuilding it if it is damaged or built for another embedder."""
        import chromadb

        meta_path = self.index_dir / "embedder.json"
        wanted = {"embedder": self.embedder.name, "dim": self.embedder.dim}
        problem = self._index_problem(meta_path, wanted)
        if problem:
            log.warning("skill index in %s %s; rebuilding it from the files", self.index_dir, problem)
            self._wipe_index()
        try:
            collection = self._create_collection(chromadb)
            self._sync_index(collection)
        except BaseException as exc:
            if not _is_index_damage(exc):
                self._release_client()
                raise
            log.warning("skill index in %s is unreadable (%s); rebuilding it from the files",
                        self.index_dir, _short(exc))
            self._wipe_index()
            collection = self._create_collection(chromadb)
            self._sync_index(collection)
        atomic_write_json(meta_path, wanted)
        self._seal()
        return collection

    def _index_problem(self, meta_path: Path, wanted: dict[str, Any]) -> str | None:
        """Why the index folder cannot be trusted as it is, or None. Checked before chromadb
        opens it, since some damage crashes chromadb outright."""
        if not self.index_dir.exists():
            return None
        if meta_path.exists() and self._read_json(meta_path) != wanted:
            return f"was built with {self._read_json(meta_path)}, not {wanted}"
        return self._seal_problem() or self._sqlite_problem()

    def _segment_files(self) -> list[Path]:
        """The HNSW segment files: everything in the index's sub-folders (the top level holds
        the sqlite database, checked by sqlite itself, and our own json files)."""
        return sorted(p for p in self.index_dir.glob("*/**/*") if p.is_file())

    def _seal(self) -> None:
        """Record the checksums of the segment files (HNSW), which chromadb changes rarely.

        A file whose size and mtime match the current seal keeps its checksum, so resealing
        after every operation costs a few stat calls.
        """
        old = self._read_json(self.index_dir / "seal.json") or {}
        seal = {}
        for path in self._segment_files():
            rel, stat = path.relative_to(self.index_dir).as_posix(), path.stat()
            entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            known = old.get(rel) if isinstance(old, dict) else None
            same = isinstance(known, dict) and all(known.get(k) == v for k, v in entry.items())
            seal[rel] = {**entry, "sha256": known["sha256"] if same else _file_sha(path)}
        if seal != old:
            atomic_write_json(self.index_dir / "seal.json", seal)

    def _seal_problem(self) -> str | None:
        seal = self._read_json(self.index_dir / "seal.json")
        files = {p.relative_to(self.index_dir).as_posix(): p for p in self._segment_files()}
        if not isinstance(seal, dict):
            return "has no seal (it predates sealing, or a write was cut off)" if files else None
        if set(seal) != set(files):
            return "has segment files that differ from its seal (files missing or added)"
        for rel, path in files.items():
            if not isinstance(seal[rel], dict) or seal[rel].get("sha256") != _file_sha(path):
                return f"has a damaged segment file ({rel} does not match its checksum)"
        return None

    def _sqlite_problem(self) -> str | None:
        db = self.index_dir / SQLITE_FILE
        if not db.exists():
            return None
        try:
            with contextlib.closing(sqlite3.connect(db)) as connection:
                rows = connection.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return f"has an unreadable {SQLITE_FILE} ({exc})"
        if rows != [("ok",)]:
            return f"has a damaged {SQLITE_FILE} ({rows[0][0]})"
        return None

    def _wipe_index(self) -> None:
        self._release_client()
        self._forget_broken_system()
        shutil.rmtree(self.index_dir, ignore_errors=True)

    def _create_collection(self, chromadb):
        from chromadb.config import Settings as ChromaSettings

        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(self.index_dir), settings=ChromaSettings(anonymized_telemetry=False)
        )
        try:
            collection = self._client.get_or_create_collection(
                COLLECTION, configuration={"hnsw": HNSW}, embedding_function=None
            )
            collection.count()  # touch the segment so a damaged folder fails here, not later
        except BaseException:
            self._release_client()
            raise
        return collection

    def _forget_broken_system(self) -> None:
        """chromadb 1.5 leaves a half-started system cached for a path whose database failed to
        open, and hands it to the next client of that path; drop it so the rebuild starts clean."""
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(self.index_dir), None)

    def _release_client(self) -> None:
        """chromadb shares one system per path within a process; release ours so a rebuilt
        folder is opened afresh instead of through stale file handles."""
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            with contextlib.suppress(Exception):  # a damaged system may fail to stop cleanly
                client.close()

    @staticmethod
    def _read_json(path: Path) -> Any:
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def _sync_index(self, collection) -> None:
        """Make the index agree with the files: drop strays, add missing or stale latest versions."""
        files = {name: self._versions(name)[-1] for name in self.names()}
        got = collection.get(include=["metadatas"])
        indexed = {i: (m or {}).get("version") for i, m in zip(got["ids"], got["metadatas"], strict=True)}
        stray = [i for i in indexed if i not in files]
        stale = [n for n, v in files.items() if indexed.get(n) != v]
        if stray:
            collection.delete(ids=stray)
        if stray:
            log.warning("skill index held %d skills with no files; removed them", len(stray))
        if stale:  # new or relearned skills added while the index was closed, or a lost write
            log.info("indexing %d skills that the index lacked or held at an old version", len(stale))
            self._index_upsert(self._readable(stale), collection)

    _on_indexed: Progress | None = None  # set by rebuild() while it runs

    def _index_upsert(self, skills: list[Skill], collection=None, batch: int = 512) -> None:
        if collection is None:  # a write to the open index: a damaged one is rebuilt, with these
            self._with_index(lambda c: self._index_upsert(skills, c, batch))
            return
        if self._on_indexed is not None:
            batch = min(batch, 64)  # small steps for the bar; embedding 64 at a time costs little more
        for start in range(0, len(skills), batch):
            chunk = skills[start:start + batch]
            vectors = self.embedder.encode([s.search_text for s in chunk])
            collection.upsert(
                ids=[s.name for s in chunk],
                embeddings=vectors,
                documents=[s.search_text for s in chunk],
                metadatas=[{"kind": s.kind, "world": s.world, "version": s.version} for s in chunk],
            )
            if self._on_indexed is not None:
                self._on_indexed(start + len(chunk), len(skills))

    def _with_index(self, op: Callable[[Any], T]) -> T:
        """Run ``op`` on the collection under the lock; if the index turns out to be damaged,
        rebuild it from the files and run ``op`` once more. Reseal afterwards: chromadb may have
        rewritten segment files (it compacts during reads too)."""
        with self.writing():
            try:
                result = op(self._collection)
            except BaseException as exc:
                if not _is_index_damage(exc):
                    raise
                log.warning("skill index in %s failed (%s); rebuilding it from the files",
                            self.index_dir, _short(exc))
                self.rebuild()
                result = op(self._collection)
            self._seal()
        return result

    def rebuild(self, on_progress: Progress | None = None) -> int:
        """Recreate the index from the files; returns the number of skills indexed.

        ``on_progress`` is told ``(indexed, total)`` as the embeddings are computed (the slow part).
        """
        with self.writing():
            self.close()
            self._wipe_index()
            self._on_indexed = on_progress
            try:
                return self._collection.count()
            finally:
                self._on_indexed = None

    def check_index(self) -> int:
        """Open (and if needed repair) the index; returns its size."""
        return self._with_index(lambda c: c.count())

    def close(self) -> None:
        """Release the index (chromadb keeps files open); the library stays usable."""
        with self.writing():
            was_open = self.__dict__.pop("_collection", None) is not None
            self._index_open = False
            self._release_client()
            if was_open and self.index_dir.exists():
                self._seal()

    # ---- retrieval ------------------------------------------------------------------------

    def search(
        self, query: str, k: int = 5, kind: str | None = None, world: str | None = None
    ) -> list[tuple[Skill, float]]:
        """Top-k skills by similarity of their description+task to ``query``, with distances.

        A hit whose record is damaged is skipped with a warning (so fewer than k may return).
        """
        if k <= 0:
            return []
        filters = [{"kind": kind}] if kind else []
        filters += [{"world": world}] if world else []
        where = filters[0] if len(filters) == 1 else ({"$and": filters} if filters else None)
        vector = self.embedder.encode([query])

        def query_index(collection) -> dict[str, Any]:
            total = collection.count()
            if total == 0:
                return {"ids": [[]], "distances": [[]]}
            return collection.query(
                query_embeddings=vector, n_results=min(k, total), where=where, include=["distances"],
            )

        result = self._with_index(query_index)
        hits = []
        for name, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            hits += [(skill, distance) for skill in self._readable([name])]
        return hits

    def retrieve(
        self, query: str, k: int = 5, kind: str | None = None, world: str | None = None
    ) -> list[Skill]:
        """The top-k skills for ``query`` followed by every skill they call (transitively).

        Callees come along because a retrieved program cannot run without them.
        """
        found = [skill for skill, _ in self.search(query, k, kind, world)]

        def count(skill: Skill) -> None:
            skill.usage.retrieved += 1

        found = [self._update_usage(skill.name, skill.version, count) for skill in found]
        return self.with_callees(found)

    def with_callees(self, skills: list[Skill]) -> list[Skill]:
        """``skills`` plus their transitive callees, each once, callers first."""
        seen = {s.name for s in skills}
        ordered = list(skills)
        queue = [c for s in skills for c in s.calls]
        while queue:
            name = queue.pop(0)
            if name in seen or name not in self:
                continue
            seen.add(name)
            for callee in self._readable([name]):
                ordered.append(callee)
                queue.extend(callee.calls)
        return ordered


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _short(exc: BaseException, limit: int = 200) -> str:
    """chromadb's messages for a damaged folder run to pages; the start says enough."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."
