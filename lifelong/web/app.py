"""The FastAPI application behind ``lifelong serve``: HTML pages, downloads and ``/api``.

Security, because a library's descriptions and an uploaded archive come from LLMs and other
people: Jinja autoescapes every value; the Content-Security-Policy allows no inline script or
style, so even a missed escape could not run code; Host headers are checked (a DNS-rebinding
page cannot read a server on localhost); writes need ``--allow-write`` *and* the per-process
form token; names and ids are validated against the listing before any path is built, so
traversal is a 404; uploads go through ``lifelong.library_io.import_library``, the CLI's
importer, with a size cap.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from lifelong import worlds
from lifelong.library import LibraryError, SkillLibrary
from lifelong.library_io import EXPORT_FORMATS, ImportRefused, export_library
from lifelong.robotics.scores import json_safe
from lifelong.web import charts, views
from lifelong.web.catalog import SORTS
from lifelong.web.render import code_css
from lifelong.web.runview import age
from lifelong.web.site import NotFound, Refused, ServeConfig, Site

PACKAGE = Path(__file__).parent
PER_PAGE = 50
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the headers above to every response (plain ASGI: no per-request task overhead)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def templates() -> Jinja2Templates:
    env = Environment(loader=PackageLoader("lifelong.web", "templates"),
                      autoescape=select_autoescape(["html", "svg"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    env.filters["age"] = age
    env.filters["num"] = _num
    return Jinja2Templates(env=env)


def _when(t: float | None) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else "-"


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def create_app(config: ServeConfig, library: SkillLibrary | None = None, warm: bool = True) -> FastAPI:
    """The app for ``config``; ``warm`` opens the index in the background at start-up."""
    site = Site(config, library)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            site.warm_in_background()
        yield

    if not warm:
        site.index_ready.set()
    # FastAPI's /docs pages load their JavaScript from a CDN: off; /api lists the endpoints instead.
    app = FastAPI(title="lifelong", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json", lifespan=lifespan)
    app.state.site = site
    tpl = templates()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=config.hosts())
    app.add_middleware(SecurityHeaders)

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return tpl.TemplateResponse(request, template, {"site": site, "config": config, **context},
                                    status_code=status)

    _error_handlers(app, page)
    _static_routes(app)
    _skill_pages(app, site, page)
    _run_pages(app, site, page)
    _transfer_routes(app, site, page)
    _api_routes(app, site, page)
    return app


# ---- errors ---------------------------------------------------------------------------------

def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_handlers(app: FastAPI, page: Any) -> None:
    def respond(request: Request, status: int, message: str, query: str | None = None) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=status)
        return page(request, "error.html", status=status, status_code=status, message=message, query=query)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        name = request.path_params.get("name")
        return respond(request, 404, str(exc), query=name)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return respond(request, exc.status, str(exc))

    @app.exception_handler(LibraryError)
    async def library_error(request: Request, exc: LibraryError) -> Response:
        return respond(request, 400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return respond(request, 404, f"nothing at {request.url.path}")
        return respond(request, exc.status_code, str(exc.detail))


# ---- static ---------------------------------------------------------------------------------

def _static_routes(app: FastAPI) -> None:
    @app.get("/static/code.css", include_in_schema=False)
    def css() -> Response:
        return Response(code_css(), media_type="text/css", headers={"cache-control": "max-age=3600"})

    app.mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static")


# ---- skills ---------------------------------------------------------------------------------

Opt = Annotated[str | None, Query()]


def _skill_pages(app: FastAPI, site: Site, page: Any) -> None:
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, q: Opt = None, world: Opt = None, kind: Opt = None,
              sort: str = "recent", p: Annotated[int, Query(ge=1)] = 1,
              top: Annotated[int, Query(ge=1, le=100)] = 20) -> Response:
        query = (q or "").strip()
        hits = site.search(query, top, kind, world) if query else None
        listing = None if query else site.catalog.page(world, kind, sort, p, PER_PAGE)
        return page(request, "index.html", q=query, world=world or "", kind=kind or "", sort=sort,
                    top=top, hits=hits, listing=listing, sorts=SORTS, worlds=site.catalog.worlds(),
                    kinds=tuple(worlds.kinds()), total=len(site.catalog))

    @app.get("/skills/{name}", response_class=HTMLResponse)
    def skill(request: Request, name: str, version: Annotated[int | None, Query(ge=1)] = None) -> Response:
        return page(request, "skill.html", **views.skill_page(site, name, version))

    @app.get("/skills/{name}/artifacts/{version}/{rel:path}")
    def artifact(name: str, version: int, rel: str) -> Response:
        path = site.artifact(name, version, rel)
        return FileResponse(path, filename=f"{name}-v{version}-{path.name}",
                            media_type="application/octet-stream")


# ---- runs -----------------------------------------------------------------------------------

def _run_pages(app: FastAPI, site: Site, page: Any) -> None:
    @app.get("/runs", response_class=HTMLResponse)
    def runs(request: Request) -> Response:
        return page(request, "runs.html", runs=site.runs.summaries(), root=site.config.runs)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(request: Request, run_id: str) -> Response:
        data = site.run(run_id)
        shape = {"minecraft": views.minecraft_view, "eureka": views.eureka_view}.get(data["kind"])
        return page(request, "run.html", run=shape(data) if shape else data)

    @app.get("/runs/{run_id}/items.svg")
    def items_chart(run_id: str) -> Response:
        data = site.run(run_id)
        if data["kind"] not in ("minecraft", "fleet"):
            raise NotFound(f"run {run_id} is not a Minecraft run")
        return _svg(data, "items", lambda: charts.items_svg(data["report"]))

    @app.get("/runs/{run_id}/candidates/{candidate}/curves.svg")
    def curves_chart(run_id: str, candidate: str) -> Response:
        data = site.run(run_id)
        found = next((c for r in data.get("rounds", []) for c in r.get("candidates", [])
                      if c["id"] == candidate), None)
        if found is None or not found["curves"]:
            raise NotFound(f"run {run_id} has no training curves for candidate {candidate!r}")
        title = f"{data.get('task', '')} {candidate}: reward components and F over training"
        return _svg(data, f"curves-{candidate}",
                    lambda: charts.curves_svg(found["curves"], title, found.get("env_steps")))


def _svg(run: dict[str, Any], key: str, draw: Any) -> Response:
    """A chart of a run, drawn once per version of the run (the cached detail holds it)."""
    cache = run.setdefault("_charts", {})
    if key not in cache:
        cache[key] = draw()
    return Response(cache[key], media_type="image/svg+xml", headers={"cache-control": "no-cache"})


# ---- export, import, delete -----------------------------------------------------------------

EXPORT_FILES = {"zip": "skills.zip", "dir": "skills-dir.tar.gz", "agent-skills": "agent-skills.tar.gz"}


def _transfer_routes(app: FastAPI, site: Site, page: Any) -> None:
    @app.get("/export/{fmt}")
    def export(fmt: str) -> Response:
        """The library in ``fmt`` as one download: the zip as ``export_library`` writes it, the
        folder formats packed as .tar.gz (unpack, then ``lifelong skills import FOLDER``)."""
        if fmt not in EXPORT_FORMATS:
            raise NotFound(f"unknown export format {fmt!r}; formats: {', '.join(EXPORT_FORMATS)}")
        tmp = Path(tempfile.mkdtemp(prefix="lifelong-export-"))
        try:
            out = export_library(site.library, tmp / ("skills.zip" if fmt == "zip" else "library"), fmt)
            if fmt != "zip":
                out = Path(shutil.make_archive(str(tmp / fmt), "gztar", root_dir=out.parent, base_dir=out.name))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return FileResponse(out, filename=f"{site.library.root.name}-{EXPORT_FILES[fmt]}",
                            media_type="application/octet-stream",
                            background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))

    @app.get("/import", response_class=HTMLResponse)
    def import_form(request: Request) -> Response:
        return page(request, "import.html")

    @app.post("/import", response_class=HTMLResponse)
    async def import_upload(request: Request) -> Response:
        limit = site.config.max_upload_mb * 1024 * 1024
        if int(request.headers.get("content-length") or 0) > limit + 65536:
            raise Refused(f"the upload is larger than {site.config.max_upload_mb} MB "
                          "(--max-upload-mb); import it with `lifelong skills import`", status=413)
        async with request.form(max_files=1, max_fields=4) as form:
            site.require_write(str(form.get("token") or ""))
            upload = form.get("archive")
            if upload is None or isinstance(upload, str) or not upload.filename:
                raise Refused("choose a .zip archive to import (one that `lifelong skills export` wrote)")
            with tempfile.TemporaryDirectory(prefix="lifelong-import-") as tmp:
                dest = Path(tmp) / "upload.zip"  # never the client's file name
                await _save(upload, dest, limit)
                try:
                    stored = site.import_upload(dest)
                except ImportRefused as exc:
                    raise Refused(f"nothing was imported: {exc}".replace(str(dest), upload.filename)) from exc
        return page(request, "imported.html", stored=stored, filename=upload.filename)

    @app.post("/skills/{name}/delete", response_class=HTMLResponse)
    async def delete(request: Request, name: str) -> Response:
        async with request.form(max_files=0, max_fields=4) as form:
            site.require_write(str(form.get("token") or ""))
        site.delete(name)
        return page(request, "deleted.html", name=name)


async def _save(upload: Any, dest: Path, limit: int) -> None:
    size = 0
    with dest.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise Refused(f"the upload is larger than the {limit >> 20} MB limit (--max-upload-mb)",
                              status=413)
            out.write(chunk)


# ---- /api -----------------------------------------------------------------------------------

def _api_routes(app: FastAPI, site: Site, page: Any) -> None:
    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_index(request: Request) -> Response:
        return page(request, "api.html", example=next(iter(site.catalog.page(per=1).skills), None))

    @app.get("/api/skills")
    def api_skills(world: Opt = None, kind: Opt = None, sort: str = "recent",
                   page: Annotated[int, Query(ge=1)] = 1,
                   per: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """Latest record of every skill, filtered, sorted and paged (``next`` is the next page)."""
        got = site.catalog.page(world, kind, sort, page, per)
        more = got.page < got.pages
        return {"total": got.total, "page": got.page, "per": got.per, "pages": got.pages,
                "next": f"/api/skills?page={got.page + 1}&per={per}&sort={sort}"
                        + (f"&world={world}" if world else "") + (f"&kind={kind}" if kind else "")
                        if more else None,
                "skills": json_safe([site.record(s) for s in got.skills])}

    @app.get("/api/skills/{name}")
    def api_skill(name: str, version: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
        """The record, code, every version, callers and callees of one skill."""
        return json_safe(views.api_skill(site, name, version))

    @app.get("/api/search")
    def api_search(q: str, top: Annotated[int, Query(ge=1, le=100)] = 5, kind: Opt = None,
                   world: Opt = None) -> list[dict[str, Any]]:
        """The library's retrieval: top skills by description and task, with cosine distances."""
        return json_safe([{**site.record(s), "distance": d} for s, d in site.search(q, top, kind, world)])

    @app.get("/api/runs")
    def api_runs() -> list[dict[str, Any]]:
        return json_safe(site.runs.summaries())

    @app.get("/api/runs/{run_id}")
    def api_run(run_id: str) -> dict[str, Any]:
        return json_safe(views.api_run(site.run(run_id)))
