"""`lifelong serve`: the skill library and the runs as a local web page (and a JSON API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lifelong.cli.common import (
    ConfigOption,
    LibraryOption,
    console,
    err_console,
    fail,
    settings_from,
    user_errors,
)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@user_errors(OSError)
def serve(
    library: LibraryOption = None,
    runs: Annotated[Path | None, typer.Option("--runs", help="folder of run folders (default: settings.run_dir)")] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="address to bind; anything but loopback exposes the "
                                           "library to the network")] = "127.0.0.1",
    allow_write: Annotated[bool, typer.Option("--allow-write", help="allow importing and deleting "
                                                                    "skills from the page")] = False,
    max_upload_mb: Annotated[int, typer.Option(min=1, help="largest archive the import accepts")] = 256,
    config: ConfigOption = None,
) -> None:
    """Browse skills (code, versions, call graph, verification) and runs in a web page."""
    import uvicorn

    from lifelong.web import ServeConfig, create_app

    settings = settings_from(config)
    library_dir = Path(library or settings.library_dir)
    runs_dir = Path(runs or settings.run_dir)
    if not library_dir.is_dir() and not allow_write:
        fail(f"no skill library at {library_dir}: pass --library DIR (a folder with skills/), "
             "or --allow-write to start an empty one and import into it")
    if host not in LOOPBACK:
        exposed = "read and change (import, delete)" if allow_write else "read"
        err_console.print(f"[bold yellow]warning:[/] binding {host}: anyone who can reach this machine on "
                          f"port {port} can {exposed} the skill library and the runs. There is no login.",
                          highlight=False, soft_wrap=True)
    cfg = ServeConfig(library=library_dir, runs=runs_dir, allow_write=allow_write, host=host, port=port,
                      embedder=settings.embedder, max_upload_mb=max_upload_mb)
    app = create_app(cfg)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"serving {library_dir} and runs in {runs_dir} "
                  f"({'writable' if allow_write else 'read-only'}) on http://{shown}:{port}/  (Ctrl-C stops)",
                  highlight=False, soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
