"""`lifelong skills ...`: browse, search, export and import the skill library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.syntax import Syntax
from rich.table import Table

from lifelong.cli.common import (
    ConfigOption,
    LibraryOption,
    console,
    print_json,
    progress_bar,
    settings_from,
    user_errors,
)
from lifelong.embeddings import EmbedderUnavailable
from lifelong.library import LibraryError, Skill, SkillLibrary
from lifelong.library_io import EXPORT_FORMATS, export_library, import_formats, import_library

app = typer.Typer(help="Browse, search, export and import the skill library.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="print a JSON list of skill records")]
errors = user_errors(LibraryError, EmbedderUnavailable, OSError)


def open_library(library: Path | None, config: Path | None) -> SkillLibrary:
    settings = settings_from(config)
    return SkillLibrary(library or settings.library_dir, embedder=settings.embedder)


def _table(skills: list[Skill], distances: list[float] | None = None) -> Table:
    table = Table(show_lines=False)
    for column in ("name", "kind", "v", "calls", "description"):
        table.add_column(column, overflow="fold")
    if distances is not None:
        table.add_column("distance", justify="right")
    for i, s in enumerate(skills):
        row = [s.name, s.kind, str(s.version), ", ".join(s.calls), s.description]
        table.add_row(*row, *([f"{distances[i]:.3f}"] if distances is not None else []))
    return table


@app.command("list")
@errors
def list_skills(
    library: LibraryOption = None,
    config: ConfigOption = None,
    kind: Annotated[str | None, typer.Option(help="only this kind")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the latest version of every skill."""
    skills = open_library(library, config).list(kind=kind)
    if as_json:
        print_json([s.model_dump(mode="json") for s in skills])
    else:
        console.print(_table(skills))
        console.print(f"{len(skills)} skills")


@app.command()
@errors
def show(
    name: str,
    library: LibraryOption = None,
    config: ConfigOption = None,
    version: Annotated[int | None, typer.Option(help="an older version")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a skill's record, lineage and code."""
    lib = open_library(library, config)
    skill, code = lib.get(name, version), lib.code(name, version)
    if as_json:
        print_json({**skill.model_dump(mode="json"), "code": code})
        return
    console.print(f"[bold]{skill.name}[/] v{skill.version} ({skill.kind}, {skill.world})")
    console.print(f"[dim]versions:[/] {[s.version for s in lib.versions(name)]}")
    console.print(f"[dim]task:[/] {skill.task}\n[dim]calls:[/] {', '.join(skill.calls) or '-'}")
    console.print(f"[dim]usage:[/] {skill.usage.model_dump()}\n{skill.description}\n")
    console.print(Syntax(code, "javascript" if skill.code_file.endswith(".js") else "python"))


@app.command()
@errors
def search(
    query: str,
    library: LibraryOption = None,
    config: ConfigOption = None,
    top: Annotated[int, typer.Option("--top", "-k", min=1, help="how many")] = 5,
    kind: Annotated[str | None, typer.Option(help="only this kind")] = None,
    world: Annotated[str | None, typer.Option(help="only this world")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Find skills whose description and task match QUERY."""
    hits = open_library(library, config).search(query, k=top, kind=kind, world=world)
    if as_json:
        print_json([{**s.model_dump(mode="json"), "distance": d} for s, d in hits])
    else:
        console.print(_table([s for s, _ in hits], [d for _, d in hits]))


@app.command("export")
@errors
def export(
    dest: Path,
    library: LibraryOption = None,
    config: ConfigOption = None,
    fmt: Annotated[str, typer.Option("--format", help=f"one of: {', '.join(EXPORT_FORMATS)}")] = "zip",
) -> None:
    """Export the library to DEST (zip, plain folder with manifest, or Agent Skills)."""
    lib = open_library(library, config)
    out = export_library(lib, dest, fmt)
    console.print(f"exported {len(lib)} skills to {out} ({fmt})")


@app.command("import")
@errors
def import_(
    src: Path,
    library: LibraryOption = None,
    config: ConfigOption = None,
    fmt: Annotated[str, typer.Option("--format", help=f"one of: {', '.join(import_formats())}")] = "auto",
) -> None:
    """Import skills from SRC (zip, exported folder, Agent Skills, or Voyager's skill/ folder)."""
    with progress_bar("importing") as on_progress:
        stored = import_library(open_library(library, config), src, fmt, on_progress=on_progress)
    console.print(f"imported {len(stored)} skills from {src}")


@app.command()
@errors
def rebuild(library: LibraryOption = None, config: ConfigOption = None) -> None:
    """Rebuild the vector index from the skill files."""
    with progress_bar("indexing") as on_progress:
        count = open_library(library, config).rebuild(on_progress=on_progress)
    console.print(f"index rebuilt: {count} skills")
