"""What the pages and the JSON API show, gathered in one place so both always agree.

:class:`Site` owns the library, the :class:`~lifelong.web.catalog.Catalog` over it and the
:class:`~lifelong.web.runview.Runs` under the runs root. The vector index is opened (and, if
needed, repaired) once in the background at start-up; searches, imports and deletes take a lock
because chromadb's client and the library's lazily opened collection are not meant to be opened
from two threads at once.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.embeddings import EmbedderUnavailable
from lifelong.library import LibraryError, Skill, SkillLibrary, check_name
from lifelong.library_io import import_library
from lifelong.web.catalog import Catalog
from lifelong.web.runview import RunNotFound, Runs

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # as lifelong.cli.serve (which must not import us)


class NotFound(LookupError):
    """A skill, version, run or file that does not exist (or may not be named): a 404."""


class Refused(ValueError):
    """A request the site will not carry out; the message says why and what to do (a 400/403/409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ServeConfig:
    """Settings of ``lifelong serve``."""

    library: Path
    runs: Path
    allow_write: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    embedder: str | None = None
    max_upload_mb: int = 256
    allowed_hosts: list[str] = field(default_factory=list)  # extra Host headers to accept

    def hosts(self) -> list[str]:
        """Host headers the app answers (DNS-rebinding defence); any host when bound to all."""
        if self.host in ("0.0.0.0", "::", ""):
            return ["*"]
        return sorted({*LOOPBACK, self.host, *self.allowed_hosts})


class Site:
    """The library and runs as the web app sees them."""

    def __init__(self, config: ServeConfig, library: SkillLibrary | None = None) -> None:
        self.config = config
        self.library = library or SkillLibrary(config.library, embedder=config.embedder)
        self.catalog = Catalog(self.library)
        self.runs = Runs(config.runs)
        self.token = secrets.token_urlsafe(24)  # forms that write carry it (no cross-site posts)
        self.index_lock = threading.Lock()
        self.index_error: str | None = None
        self.index_ready = threading.Event()

    # ---- start-up -----------------------------------------------------------------------------

    def warm(self) -> None:
        """Read every record and open the index (loading the embedding model), so the first
        visitor does not wait for it. Runs in a background thread."""
        self.catalog.refresh()
        try:
            with self.index_lock:
                self.library.check_index()
                self.library.embedder.encode(["warm up"])
        except (EmbedderUnavailable, LibraryError, OSError) as exc:
            self.index_error = str(exc)
            log.warning("search is unavailable: %s", exc)
        finally:
            self.index_ready.set()

    def warm_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.warm, name="lifelong-serve-warm", daemon=True)
        thread.start()
        return thread

    # ---- skills -------------------------------------------------------------------------------

    def skill(self, name: str, version: int | None = None) -> Skill:
        if self.catalog.get(name) is None:
            raise NotFound(f"no skill named {name!r}")
        try:
            return self.library.get(name, version)
        except LibraryError as exc:
            raise NotFound(str(exc)) from exc

    def search(self, query: str, top: int = 10, kind: str | None = None,
               world: str | None = None) -> list[tuple[Skill, float]]:
        """The library's own retrieval (embedding of description + task, then the index)."""
        if not query.strip():
            raise Refused("type something to search for")
        self.index_ready.wait(timeout=600)
        with self.index_lock:
            try:
                hits = self.library.search(query, k=top, kind=kind or None, world=world or None)
            except EmbedderUnavailable as exc:
                raise Refused(f"search is unavailable: {exc}", status=503) from exc
        return [(s, d) for s, d in hits if self.catalog.get(s.name) is not None]

    def record(self, skill: Skill) -> dict[str, Any]:
        return skill.model_dump(mode="json")

    def versions(self, name: str) -> list[Skill]:
        return self.library.versions(name)

    def code(self, skill: Skill) -> str:
        return self.library.code(skill.name, skill.version)

    def callees(self, skill: Skill) -> list[dict[str, Any]]:
        return [{"name": c, "exists": self.catalog.get(c) is not None} for c in skill.calls]

    def transitive_callees(self, skill: Skill) -> list[str]:
        """Everything the skill needs to run, as the runner ships it (``with_callees``)."""
        return [s.name for s in self.library.with_callees([skill])[1:]]

    def artifact(self, name: str, version: int, rel: str) -> Path:
        """A file in a version's ``artifacts/``; anything outside it (``..``, links) is a 404."""
        skill = self.skill(name, version)
        if rel not in skill.artifacts and not any(rel.startswith(a.rstrip("/") + "/") for a in skill.artifacts):
            raise NotFound(f"{name} v{version} has no artifact {rel!r}")
        root = self.library.artifact_dir(skill).resolve()
        path = (root / rel).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFound(f"{name} v{version} has no artifact {rel!r}")
        return path

    # ---- runs ---------------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any]:
        try:
            return self.runs.detail(run_id)
        except RunNotFound as exc:
            raise NotFound(f"no run {run_id!r} under {self.config.runs}") from exc

    def skill_run(self, skill: Skill) -> str | None:
        """The id of the run that verified ``skill``, if that run is under the runs root."""
        return self.runs.find(skill.evidence.get("run"))

    # ---- writes (only with --allow-write) -----------------------------------------------------

    def require_write(self, token: str | None) -> None:
        if not self.config.allow_write:
            raise Refused("this server is read-only: restart it with `lifelong serve --allow-write` "
                          "to import or delete skills", status=403)
        if not token or not secrets.compare_digest(token, self.token):
            raise Refused("the form is stale or came from another site: reload the page and retry",
                          status=403)

    def import_upload(self, upload: Path) -> list[Skill]:
        """Import an uploaded archive with the CLI's own importer (all-or-nothing, zip-slip and
        manifest checks), so the web can never accept what ``lifelong skills import`` refuses."""
        with self.index_lock:
            stored = import_library(self.library, upload, "auto")
        self.catalog.invalidate()
        return stored

    def delete(self, name: str) -> None:
        """Remove every version of ``name`` (``SkillLibrary.delete``: under the library's write
        lock, all or nothing, and out of the index). Refused while other skills call it: they
        would fail to run without it."""
        check_name(name)
        if self.catalog.get(name) is None:
            raise NotFound(f"no skill named {name!r}")
        callers = self.catalog.callers(name)
        if callers:
            raise Refused(f"{name} is called by {', '.join(callers)}: delete those first "
                          "(they cannot run without it)", status=409)
        with self.index_lock:
            self.library.delete(name)
        self.catalog.invalidate()
