"""`lifelong run-program FILE.js`: run one program on the bot by hand and print what happened.

Starts the embedded server (a fresh world in a temporary folder, or --world) unless --server
points at a running one, gives the --give items (a hard reset: exactly those items), runs the
file's last async function with the library skills it calls (and their callees) in scope, and
prints the final observation: inventory as {"item": count}, chat, and any error.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lifelong.cli.common import (
    ConfigOption,
    LibraryOption,
    console,
    fail,
    print_json,
    settings_from,
)
from lifelong.host import free_port
from lifelong.minecraft.limits import PROGRAM_TIMEOUT_S, VIEWER_PORT
from lifelong.minecraft.server import DEFAULT_VERSION, ServerAddress, ServerTarget


def parse_gives(gives: list[str]) -> dict[str, int]:
    """["oak_log=3", "stick"] -> {"oak_log": 3, "stick": 1}; bad entries say how to write them."""
    out: dict[str, int] = {}
    for g in gives:
        name, _, count = g.partition("=")
        name = name.strip()
        if not re.fullmatch(r"(minecraft:)?[a-z0-9_]+", name) or (count and not count.strip().isdigit()):
            fail(f"--give {g!r}: write ITEM=N with a Minecraft item id, e.g. --give oak_log=3")
        out[name] = out.get(name, 0) + (int(count) if count else 1)
    return out


def library_skills(code: str, library_dir: Path | None, config: Path | None) -> list[dict[str, str]]:
    """The library skills the program calls, with their callees: only what it needs."""
    from lifelong.library import SkillLibrary
    from lifelong.minecraft.env import SkillIndex

    if library_dir is None:
        return []
    if not Path(library_dir).is_dir():
        fail(f"--library {library_dir}: no such folder")
    settings = settings_from(config)
    return SkillIndex(SkillLibrary(library_dir, embedder=settings.embedder)).for_program(code)


def _parse_server(text: str, version: str) -> ServerAddress:

    host, _, port = text.rpartition(":")
    if not port.isdigit():
        fail(f"--server {text!r}: write HOST:PORT, e.g. --server 127.0.0.1:25565")
    return ServerAddress(host or "127.0.0.1", int(port), version, "offline")


def _print_human(obs: dict[str, Any], skills: list[dict[str, str]]) -> None:
    status = "[green]ok[/]" if obs.get("ok") else "[red]failed[/]"
    console.print(f"program {status} in {obs.get('elapsed_ms', 0) / 1000:.1f} s"
                  + (f" with skills: {', '.join(s['name'] for s in skills)}" if skills else ""))
    if obs.get("error"):
        console.print(obs["error"]["message"], style="red", highlight=False, markup=False)
    for line in obs.get("chat") or []:
        console.print(f"chat: {line}", highlight=False, markup=False)
    table = Table(title="inventory", show_header=True)
    table.add_column("item")
    table.add_column("count", justify="right")
    for item, count in sorted((obs.get("inventory") or {}).items()):
        table.add_row(item, str(count))
    console.print(table)
    pos = obs.get("position") or {}
    console.print(f"position: {pos.get('x')}, {pos.get('y')}, {pos.get('z')}  health: {obs.get('health')}"
                  f"  food: {obs.get('food')}  biome: {obs.get('biome')}")
    rate = _tick_rate(obs)
    if rate["time_scale"] != 1:
        console.print(f"time scale {rate['time_scale']:g}: ticks/s reached: world {rate['server_ticks_per_s']}, "
                      f"bot {rate['bot_ticks_per_s']} (of {rate['target_ticks_per_s']:g})")


def _tick_rate(obs: dict[str, Any]) -> dict[str, Any]:
    """The time scale and the tick rates reached during the program: whether it really ran K times faster."""
    scale = float(obs.get("time_scale") or 1)
    return {"time_scale": scale, "target_ticks_per_s": 20 * scale,
            "bot_ticks_per_s": obs.get("ticks_per_s"), "server_ticks_per_s": obs.get("server_ticks_per_s")}


def run_program(
    file: Annotated[Path, typer.Argument(help="JS file; its last async function runs with `bot`")],
    library: LibraryOption = None,
    give: Annotated[list[str] | None, typer.Option("--give", help="ITEM=N to start with (repeatable)")] = None,
    seed: Annotated[int, typer.Option(help="world seed of the embedded server")] = 42,
    server: Annotated[str | None, typer.Option(help="HOST:PORT of a running server (vanilla/Paper too)")] = None,
    version: Annotated[str, typer.Option(help="Minecraft version of --server")] = DEFAULT_VERSION,
    world: Annotated[Path | None, typer.Option(help="world folder to keep (default: a temporary one)")] = None,
    port: Annotated[int | None, typer.Option(help="port of the embedded server (default: a free one)")] = None,
    timeout: Annotated[float, typer.Option(help="time limit of the program, game seconds (wall seconds at time scale 1)")] = PROGRAM_TIMEOUT_S,
    time_scale: Annotated[float | None, typer.Option(
        "--time-scale", help="K: the embedded world and the bot run K times faster than real time "
        "(default: [minecraft] time_scale, 1); only 1 with --server")] = None,
    username: Annotated[str, typer.Option(help="the bot's name")] = "bot",
    allow_commands: Annotated[bool, typer.Option("--allow-commands", help="let the program send /commands (off for agents)")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the final observation as JSON")] = False,
    viewer: Annotated[bool, typer.Option("--viewer", help="serve a browser view of the bot (prismarine-viewer)")] = False,
    viewer_port: Annotated[int, typer.Option(help="port of the --viewer page")] = VIEWER_PORT,
    linger: Annotated[float, typer.Option(help="with --viewer: seconds to keep serving after the program (-1: until Ctrl-C)")] = -1,
    config: ConfigOption = None,
) -> None:
    """Run a program (Voyager style) on the bot and print the final observation."""
    from lifelong.config import ConfigError
    from lifelong.minecraft.env import EnvError, MinecraftEnv
    from lifelong.minecraft.server import EmbeddedServer, ServerError, real_time_only

    if not file.is_file():
        fail(f"{file}: no such file")
    code = file.read_text()
    skills = library_skills(code, library, config)
    inventory = parse_gives(give or [])
    embedded = None
    tmp = None
    try:
        if server:
            real_time_only(time_scale, f"--server {server}")
            target: ServerTarget = _parse_server(server, version)
        else:
            scale = time_scale if time_scale is not None else settings_from(config).minecraft.time_scale
            if world is None:
                tmp = tempfile.TemporaryDirectory(prefix="lifelong-world-")
            embedded = EmbeddedServer(world_dir=world or tmp.name, port=port or free_port(), seed=seed,
                                      time_scale=scale)
            if not json_out:
                console.print(f"starting the embedded server (seed {seed}) ...")
            embedded.start(detach=True)
            target = embedded
        with MinecraftEnv(target, username=username, timeout_s=timeout, allow_commands=allow_commands) as env:
            env.reset(seed=seed, inventory=inventory, mode="hard" if (give or embedded) else "soft")
            if viewer:
                url = env.start_viewer(viewer_port)
                (console.print if not json_out else _stderr)(f"viewer: {url}", highlight=False)
            obs = env.step(code, skills)
            if json_out:
                print_json({"ok": obs.get("ok"), "error": obs.get("error"), "inventory": obs.get("inventory"),
                            "chat": obs.get("chat"), "skills": [s["name"] for s in skills], "observation": obs,
                            "tick_rate": _tick_rate(obs)})
            else:
                _print_human(obs, skills)
            if viewer:
                _linger(linger, json_out)
    except (EnvError, ServerError, ConfigError) as err:
        fail(str(err))
    finally:
        if embedded is not None:
            embedded.stop()
        if tmp is not None:
            tmp.cleanup()
    if not obs.get("ok"):
        raise typer.Exit(1)


def _stderr(text: str, **kw: Any) -> None:
    from lifelong.cli.common import err_console

    err_console.print(text, **kw)


def _linger(seconds: float, quiet: bool) -> None:
    if not quiet:
        console.print("viewer still serving; Ctrl-C to stop" if seconds < 0 else f"viewer serving for {seconds:.0f} s")
    try:
        deadline = time.monotonic() + (seconds if seconds >= 0 else float("inf"))
        while time.monotonic() < deadline:
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
