"""`lifelong server start|stop|status`: the embedded Minecraft world (flying-squid)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from lifelong.cli.common import (
    console,
    err_console,
    exit_on_sigterm,
    print_json,
    settings_from,
    user_errors,
)
from lifelong.minecraft.server import (
    DEFAULT_DIFFICULTY,
    DEFAULT_PORT,
    DEFAULT_VERSION,
    DEFAULT_VIEW_DISTANCE,
    EmbeddedServer,
    ServerError,
    ServerStatus,
    TickRate,
)

app = typer.Typer(help="Run the embedded Minecraft server (no Minecraft licence or client needed).",
                  no_args_is_help=True)
errors = user_errors(ServerError, OSError)

WorldOption = Annotated[Path, typer.Option("--world", help="world folder (kept: a later start resumes it)")]
PortOption = Annotated[int, typer.Option("--port", help="TCP port for Minecraft clients and bots")]
TimeScaleOption = Annotated[float | None, typer.Option(
    "--time-scale", help="K: the world ticks K times faster than real time (default: [minecraft] time_scale, 1)")]
DEFAULT_WORLD = Path("worlds/default")


def _show(status: ServerStatus, as_json: bool) -> None:
    if as_json:
        print_json(status.as_dict())
        return
    if not status.running:
        console.print(f"[yellow]stopped[/]  world {status.world}")
        return
    state = "[green]ready[/]" if status.ready else "[yellow]starting / not accepting logins[/]"
    console.print(f"{state}  127.0.0.1:{status.port}  version {status.version}  seed {status.seed}  "
                  f"pid {status.pid}\n  world {status.world}\n  log   {status.log}\n  clock {_clock(status)}")
    rate = TickRate(status.time_scale, status.target_ticks_per_s or 20 * status.time_scale, status.ticks_per_s)
    if (warning := rate.warning()) is not None:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)


def _clock(status: ServerStatus) -> str:
    """``time scale 4: 79.8 of 80 ticks/s`` (the rate is known a few seconds after a start)."""
    target = status.target_ticks_per_s or 20 * status.time_scale
    if status.ticks_per_s is None:
        return f"time scale {status.time_scale:g}: {target:g} ticks/s asked (`lifelong server status` shows the rate reached)"
    return f"time scale {status.time_scale:g}: {status.ticks_per_s:g} of {target:g} ticks/s"


@app.command()
@errors
def start(
    world: WorldOption = DEFAULT_WORLD,
    port: PortOption = DEFAULT_PORT,
    seed: Annotated[int | None, typer.Option(help="world seed (only used when the world is new)")] = None,
    version: Annotated[str, typer.Option(help="Minecraft version")] = DEFAULT_VERSION,
    detach: Annotated[bool, typer.Option("--detach", help="run in the background and return")] = False,
    difficulty: Annotated[str, typer.Option(help="peaceful | easy | normal | hard")] = DEFAULT_DIFFICULTY,
    daylight_cycle: Annotated[bool, typer.Option("--daylight-cycle/--no-daylight-cycle")] = True,
    keep_inventory: Annotated[bool, typer.Option("--keep-inventory/--no-keep-inventory")] = False,
    mobs: Annotated[bool, typer.Option("--mobs/--no-mobs", help="spawn animals and monsters")] = True,
    view_distance: Annotated[int, typer.Option(help="chunks sent around each player")] = DEFAULT_VIEW_DISTANCE,
    time_scale: TimeScaleOption = None,
    world_style: Annotated[str | None, typer.Option(
        help="'grove' (default for a new world: trees and an ore outcrop at spawn) or 'natural' (no such "
        "guarantee, for benchmarks); a world keeps the style it was made with")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the status as JSON")] = False,
) -> None:
    """Start the server; in the foreground (default) it runs until Ctrl-C or SIGTERM, then saves."""
    scale = time_scale if time_scale is not None else settings_from(None).minecraft.time_scale
    server = EmbeddedServer(world_dir=world, port=port, seed=seed, version=version,
                            difficulty=difficulty, daylight_cycle=daylight_cycle,
                            keep_inventory=keep_inventory, mobs=mobs, view_distance=view_distance,
                            time_scale=scale, world_style=world_style)
    already = server.status(probe=False).running
    status = server.start(detach=detach)
    _show(status, as_json)
    if already:
        console.print("[yellow]already running[/]: `lifelong server stop --world ...` stops it.")
        return
    if detach:
        return
    console.print("[dim]Ctrl-C saves the world and stops the server.[/]")

    exit_on_sigterm()
    try:
        server.wait()
    except (KeyboardInterrupt, SystemExit):
        pass  # Ctrl-C or SIGTERM: a deliberate stop, so save and exit 0
    finally:
        started = time.monotonic()
        server.stop()
        console.print(f"saved and stopped in {time.monotonic() - started:.1f} s")
    sys.exit(0)


@app.command()
@errors
def stop(world: WorldOption = DEFAULT_WORLD) -> None:
    """Stop the server of a world (it saves first)."""
    if EmbeddedServer(world_dir=world).stop():
        console.print(f"stopped; world saved in {world}")
    else:
        console.print(f"no server running for {world}")


@app.command()
@errors
def status(
    world: WorldOption = DEFAULT_WORLD,
    as_json: Annotated[bool, typer.Option("--json", help="print the status as JSON")] = False,
) -> None:
    """Show whether the world's server runs and accepts logins (exit code 1 when stopped)."""
    current = EmbeddedServer(world_dir=world).status()
    _show(current, as_json)
    if not current.running:
        raise typer.Exit(1)
