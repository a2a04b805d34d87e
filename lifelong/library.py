"""The skill library: plain files are the truth, a chromadb index makes them searchable.

On disk::

    <root>/skills/<name>/v<k>/skill.json     the record (see :class:`Skill`)
    <root>/skills/<name>/v<k>/code.js|.py    the code
    <root>/skills/<name>/v<k>/artifacts/     optional (a policy checkpoint, plots)
    <root>/index/                            chromadb PersistentClient (disposable)
    <root>/index/embedder.json               which embedder built the index, and its dimension

Every version of a skill is kept (relearning a name adds ``v<k+1>``; its record names the version
it replaces), and only the latest version of each name is in the index. The index can always be
rebuilt from the files, and is: when it is corrupt, when the embedder changed, or when its ids
and versions disagree with the files (checked each time the index is opened).

What gets embedded is the description plus the task, not the code: retrieval is by intent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from lifelong.embeddings import DEFAULT_MODEL, Embedder
from lifelong.runs import atomic_write_json

log = logging.getLogger(__name__)

Kind = Literal["minecraft-program", "reward-function", "policy"]
KINDS: tuple[str, ...] = ("minecraft-program", "reward-function", "policy")
CODE_SUFFIX = {"minecraft-program": ".js", "reward-function": ".py", "policy": ".py"}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")
COLLECTION = "skills"
# Tuned in benchmarks/library_bench.py: the defaults (ef_search=10) give recall@5 ~0.6 here.
HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 200, "max_neighbors": 32}


class LibraryError(ValueError):
    """A request the library cannot honour; the message says what to do instead."""


class Usage(BaseModel):
    retrieved: int = 0
    used: int = 0
    succeeded: int = 0


class Skill(BaseModel):
    """A skill's JSON record (``skill.json``)."""

    name: str
    kind: Kind
    description: str
    task: str = ""
    world: str = "minecraft"
    version: int = 1
    calls: list[str] = Field(default_factory=list)
    evidence: dict[str, Any] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    created: float = Field(default_factory=time.time)
    code_file: str = "code.js"
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


def find_calls(code: str, known: Iterable[str], own_name: str = "") -> list[str]:
    """Names of known skills that ``code`` calls (``name(`` outside its own definition)."""
    return sorted(
        n for n in set(known) if n != own_name and re.search(rf"(?<![\w.]){re.escape(n)}\s*\(", code)
    )


def _sha(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class SkillLibrary:
    """Add, look up and retrieve skills. Cheap to open; the index and model load on first use."""

    def __init__(self, root: Path | str, embedder: Embedder | str | None = None) -> None:
        self.root = Path(root)
        self.skills_dir = self.root / "skills"
        self.index_dir = self.root / "index"
        self.skills_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(embedder, Embedder):
            self.embedder = embedder
        else:
            self.embedder = Embedder(embedder or DEFAULT_MODEL)

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
        versions = self._versions(name) if NAME_RE.match(name) else []
        if not versions:
            raise LibraryError(f"no skill named {name!r} in {self.root}; `lifelong skills list` shows them")
        version = versions[-1] if version is None else version
        if version not in versions:
            raise LibraryError(f"skill {name!r} has versions {versions}, not {version}")
        return Skill.model_validate_json((self._version_dir(name, version) / "skill.json").read_text())

    def versions(self, name: str) -> list[Skill]:
        """The lineage of ``name``, oldest first."""
        return [self.get(name, v) for v in self._versions(name)]

    def code(self, name: str, version: int | None = None) -> str:
        skill = self.get(name, version)
        return (self._version_dir(name, skill.version) / skill.code_file).read_text()

    def artifact_dir(self, skill: Skill) -> Path:
        return self._version_dir(skill.name, skill.version) / "artifacts"

    def list(self, kind: str | None = None, world: str | None = None) -> list[Skill]:
        skills = [self.get(n) for n in self.names()]
        return [s for s in skills if (kind is None or s.kind == kind) and (world is None or s.world == world)]

    def add(
        self,
        name: str,
        code: str,
        kind: Kind = "minecraft-program",
        description: str = "",
        task: str = "",
        calls: Iterable[str] = (),
        evidence: dict[str, Any] | None = None,
        world: str = "minecraft",
        artifacts: dict[str, Path] | None = None,
        created: float | None = None,
    ) -> Skill:
        """Store a verified skill as a new version; re-adding identical code returns the existing one.

        The idempotence matters for crash recovery: a task redone after ``--resume`` re-adds the
        skill it had already stored, and must not create a duplicate version.
        """
        check_name(name)
        if kind not in KINDS:
            raise LibraryError(f"unknown skill kind {kind!r}; kinds are: {', '.join(KINDS)}")
        if not description.strip():
            raise LibraryError(f"skill {name!r} needs a description: retrieval searches by it")
        versions = self._versions(name)
        if versions:
            latest = self.get(name)
            if latest.code_sha256 == _sha(code) and latest.kind == kind:
                return latest
        skill = Skill(
            name=name, kind=kind, description=description.strip(), task=task, world=world,
            version=(versions[-1] + 1) if versions else 1, calls=sorted(set(calls)),
            evidence=evidence or {}, code_file="code" + CODE_SUFFIX[kind], code_sha256=_sha(code),
            artifacts=sorted((artifacts or {}).keys()), replaces=versions[-1] if versions else None,
            **({"created": created} if created is not None else {}),
        )
        self._write_version(skill, code, artifacts or {})
        if self._index_open:
            self._index_upsert([skill])
        return skill

    def _write_version(self, skill: Skill, code: str, artifacts: dict[str, Path]) -> None:
        """Write into a temporary folder, then rename: a version appears whole or not at all."""
        final = self._version_dir(skill.name, skill.version)
        staging = final.with_name(f".{final.name}.tmp-{time.monotonic_ns()}")
        staging.mkdir(parents=True)
        (staging / skill.code_file).write_text(code)
        for rel, src in artifacts.items():
            dest = staging / "artifacts" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if Path(src).is_dir() else shutil.copy2)(src, dest)
        (staging / "skill.json").write_text(skill.model_dump_json(indent=2))
        staging.rename(final)

    def record_use(self, name: str, success: bool) -> Skill:
        """Count that a program used this skill (the latest version) and whether it worked."""
        skill = self.get(name)
        skill.usage.used += 1
        skill.usage.succeeded += int(success)
        self._save_record(skill)
        return skill

    def _save_record(self, skill: Skill) -> None:
        atomic_write_json(
            self._version_dir(skill.name, skill.version) / "skill.json", skill.model_dump(mode="json")
        )

    # ---- the index: derived, disposable ---------------------------------------------------

    _index_open = False

    @cached_property
    def _collection(self):
        collection = self._open_collection()
        self._index_open = True
        self._sync_index(collection)
        return collection

    def _open_collection(self):
        import chromadb

        meta_path = self.index_dir / "embedder.json"
        wanted = {"embedder": self.embedder.name, "dim": self.embedder.dim}
        if meta_path.exists() and self._read_json(meta_path) != wanted:
            log.warning("index was built with %s; rebuilding for %s", self._read_json(meta_path), wanted)
            self._release_client()
            shutil.rmtree(self.index_dir)
        try:
            collection = self._create_collection(chromadb)
        except Exception as exc:  # noqa: BLE001 - chromadb raises many types for a damaged folder
            log.warning("skill index in %s is unreadable (%s); rebuilding it from the files", self.index_dir, exc)
            self._forget_broken_system()
            shutil.rmtree(self.index_dir, ignore_errors=True)
            collection = self._create_collection(chromadb)
        atomic_write_json(meta_path, wanted)
        return collection

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
        except Exception:
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
            self._index_upsert([self.get(n) for n in stale], collection)

    def _index_upsert(self, skills: list[Skill], collection=None, batch: int = 512) -> None:
        collection = collection if collection is not None else self._collection
        for start in range(0, len(skills), batch):
            chunk = skills[start:start + batch]
            vectors = self.embedder.encode([s.search_text for s in chunk])
            collection.upsert(
                ids=[s.name for s in chunk],
                embeddings=vectors,
                documents=[s.search_text for s in chunk],
                metadatas=[{"kind": s.kind, "world": s.world, "version": s.version} for s in chunk],
            )

    def rebuild(self) -> int:
        """Recreate the index from the files; returns the number of skills indexed."""
        self.close()
        shutil.rmtree(self.index_dir, ignore_errors=True)
        return self._collection.count()

    def check_index(self) -> int:
        """Open (and if needed repair) the index; returns its size."""
        return self._collection.count()

    def close(self) -> None:
        """Release the index (chromadb keeps files open); the library stays usable."""
        self.__dict__.pop("_collection", None)
        self._index_open = False
        self._release_client()

    # ---- retrieval ------------------------------------------------------------------------

    def search(
        self, query: str, k: int = 5, kind: str | None = None, world: str | None = None
    ) -> list[tuple[Skill, float]]:
        """Top-k skills by similarity of their description+task to ``query``, with distances."""
        collection = self._collection
        total = collection.count()
        if total == 0 or k <= 0:
            return []
        filters = [{"kind": kind}] if kind else []
        filters += [{"world": world}] if world else []
        where = filters[0] if len(filters) == 1 else ({"$and": filters} if filters else None)
        result = collection.query(
            query_embeddings=self.embedder.encode([query]), n_results=min(k, total), where=where,
            include=["distances"],
        )
        return [(self.get(i), d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def retrieve(
        self, query: str, k: int = 5, kind: str | None = None, world: str | None = None
    ) -> list[Skill]:
        """The top-k skills for ``query`` followed by every skill they call (transitively).

        Callees come along because a retrieved program cannot run without them.
        """
        found = [skill for skill, _ in self.search(query, k, kind, world)]
        for skill in found:
            skill.usage.retrieved += 1
            self._save_record(skill)
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
            callee = self.get(name)
            ordered.append(callee)
            queue.extend(callee.calls)
        return ordered
