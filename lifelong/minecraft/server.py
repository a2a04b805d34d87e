"""The embedded Minecraft server (flying-squid in ``bridges/server``): start, stop, status, restart.

This module is the ONLY place that starts a server. The exploration command calls
:meth:`EmbeddedServer.ensure_running` before it connects a bot, so a server that died is
restarted in the same world folder (chunks, players, chests and game rules live there).

A world folder holds everything of one world::

    worlds/demo/
      region/ level.dat playerdata/   flying-squid's Anvil world
      lifelong-state.json             game rules + time (written by the gamerules plugin)
      lifelong-server.json            pid, port, seed, version, time scale of the running server (this module)
      lifelong-world.json             the world style its chunks were generated in (this module)
      lifelong-clock.json             time scale and tick rate reached, every 2 s (plugins/clock.js)
      server.log                      the server's log (flying-squid + launcher)
      server.out                      the Node process's stdout/stderr (crash traces)

Readiness means what a bot needs: the launcher reported ``ready`` and the port accepts a login.

Time scale K: our server may tick K times faster than real time (20 x K ticks a
second; furnaces, mobs, world time and item timers follow). Only our server can: a bot on any
other server runs at 1. :meth:`EmbeddedServer.tick_rate` reports the rate actually reached.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from lifelong.minecraft.ablations import DEFAULT_WORLD, AblationError, check_world_style
from lifelong.runs import atomic_write_json

log = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("1.21.1",)  # keep in sync with bridges/server/index.js (a test checks)
DEFAULT_VERSION = "1.21.1"
DEFAULT_PORT = 25565
DEFAULT_DIFFICULTY = "easy"
DEFAULT_VIEW_DISTANCE = 6  # chunks sent around each player
PROTOCOL_VERSIONS = {"1.21.1": 767}
DIFFICULTIES = ("peaceful", "easy", "normal", "hard")
STATE_FILE = "lifelong-server.json"
STYLE_FILE = "lifelong-world.json"
LOG_FILE = "server.log"
OUT_FILE = "server.out"
READY_MARK = "[launcher] ready on port"
CLOCK_FILE = "lifelong-clock.json"  # written by bridges/server/plugins/clock.js
TICKS_PER_SECOND = 20
SHORTFALL = 0.9  # below this share of the target tick rate, K is not being held
MAX_TIME_SCALE = 100  # keep in sync with bridges/bot/clock.js


class ServerError(RuntimeError):
    """A server problem, worded so the user knows what to do."""


class PortInUse(ServerError):
    """The port is taken by a process that is not our server for this world."""


class UnsupportedVersion(ServerError):
    """The embedded server cannot speak this Minecraft version."""


def check_time_scale(value: Any) -> float:
    """K as a float, or ServerError saying what to pass (the rule of bridges/bot/clock.js)."""
    try:
        k = float(value)
    except (TypeError, ValueError):
        k = float("nan")
    if not k > 0 or k == float("inf"):
        raise ServerError(f"time scale must be a number above 0 (1 = real time, 4 = four times faster), got {value!r}")
    if k > MAX_TIME_SCALE:
        raise ServerError(f"time scale {value} is above the maximum of {MAX_TIME_SCALE}; use {MAX_TIME_SCALE} or less")
    return k


def real_time_only(time_scale: float | None, where: str) -> None:
    """Refuse K != 1 for a server that is not our embedded one: real servers tick at 20 a second."""
    if time_scale is not None and check_time_scale(time_scale) != 1:
        raise ServerError(
            f"time scale {time_scale:g} needs the embedded server, and {where} is not one of ours: other "
            "servers run in real time. Use time scale 1 there (--time-scale 1, or [minecraft] time_scale = 1), "
            "or leave out --server to run on the embedded world.")


def time_scale_for(server: ServerTarget, asked: float | None = None) -> float:
    """The bot's time scale: its embedded server's K (a bot must share its world's clock), or 1
    for any other server, where asking for more is an error (:func:`real_time_only`)."""
    own = getattr(server, "time_scale", None) if hasattr(server, "ensure_running") else None
    if own is None:
        where = f"{server.host}:{server.port}" if isinstance(server, ServerAddress) else repr(server)
        real_time_only(asked, f"server {where}" if server is not None else "the default server address")
        return 1.0
    if asked is not None and check_time_scale(asked) != own:
        raise ServerError(f"the bot must run at its world's time scale: the embedded server runs at {own:g}, "
                          f"not {asked:g}; give the server time_scale={asked:g} (--time-scale) or leave the "
                          "env's time_scale unset")
    return float(own)


_last_warning: dict[str, float] = {}


def note_tick_rate(server: ServerTarget, obs: dict[str, Any], every_s: float = 60.0) -> dict[str, Any]:
    """Add the embedded server's tick rate to a step's observation (``server_ticks_per_s``), and
    log a warning, at most every ``every_s``, while the world or the bot cannot hold its K."""
    scale = float(obs.get("time_scale") or 1.0)
    rates = {"the bot": TickRate(scale, TICKS_PER_SECOND * scale, obs.get("ticks_per_s"))}
    if hasattr(server, "tick_rate") and (world := server.tick_rate()) is not None:
        obs["server_ticks_per_s"] = world.ticks_per_s
        rates["the world"] = world
    for what, rate in rates.items():
        text = rate.warning(what)
        if text and time.monotonic() - _last_warning.get(what, -every_s) >= every_s:
            _last_warning[what] = time.monotonic()
            log.warning(text)
    return obs


@dataclass
class TickRate:
    """The tick rate a server reached at its time scale (from its lifelong-clock.json)."""

    time_scale: float
    target_ticks_per_s: float
    ticks_per_s: float | None = None  # over the last 5 s; None before the first report
    mean_ticks_per_s: float | None = None  # since the server started

    @property
    def behind(self) -> bool:
        return self.ticks_per_s is not None and self.ticks_per_s < SHORTFALL * self.target_ticks_per_s

    def warning(self, what: str = "the world") -> str | None:
        """A warning with the rate reached when the machine cannot hold K, else None."""
        if not self.behind:
            return None
        reached = (self.ticks_per_s or 0) / TICKS_PER_SECOND
        return (f"{what} reached {self.ticks_per_s:.1f} ticks/s of the {self.target_ticks_per_s:g} asked by "
                f"time scale {self.time_scale:g}: this machine cannot hold it and runs {reached:.2f}x real "
                "time. Use a smaller --time-scale or free some CPU.")


@dataclass(frozen=True)
class ServerAddress:
    """Where a bot connects: the embedded server, or any vanilla/Paper server.

    ``auth`` is ``"offline"`` (embedded server, or a server with online-mode=false) or
    ``"microsoft"`` (a real online-mode server; mineflayer then asks for a device-code login).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    version: str = DEFAULT_VERSION
    auth: str = "offline"

    def __post_init__(self) -> None:
        if not 1 <= int(self.port) <= 65535:
            raise ServerError(f"port must be 1-65535, got {self.port}")
        if self.auth not in ("offline", "microsoft"):
            raise ServerError(f"auth must be 'offline' or 'microsoft', got {self.auth!r}")

    def bot_options(self, username: str) -> dict[str, Any]:
        """Keyword options for ``mineflayer.createBot``."""
        return {"host": self.host, "port": int(self.port), "version": self.version,
                "auth": self.auth, "username": username}


@dataclass
class ServerStatus:
    """What :meth:`EmbeddedServer.status` reports (also printed by ``lifelong server status``)."""

    world: str
    running: bool
    ready: bool = False
    pid: int | None = None
    port: int | None = None
    seed: int | None = None
    version: str | None = None
    started_at: float | None = None
    log: str = ""
    restarts: int = 0
    time_scale: float = 1.0
    target_ticks_per_s: float | None = None
    ticks_per_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_version(version: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion(
            f"Minecraft version {version} is not supported by the embedded server; "
            f"supported versions: {', '.join(SUPPORTED_VERSIONS)}. "
            "Any version mineflayer supports works against a vanilla/Paper server (ServerAddress)."
        )


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something listens on (host, port), or the port cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        if sock.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


# --- a minimal Minecraft login probe: handshake + login start, read the first reply -------------

def _varint(value: int) -> bytes:
    out = bytearray()
    value &= 0xFFFFFFFF
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return _varint(len(data)) + data


def _packet(packet_id: int, payload: bytes) -> bytes:
    body = _varint(packet_id) + payload
    return _varint(len(body)) + body


def _read_varint(sock: socket.socket) -> int:
    result = shift = 0
    while True:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("connection closed")
        result |= (chunk[0] & 0x7F) << shift
        if not chunk[0] & 0x80:
            return result
        shift += 7
        if shift > 35:
            raise ConnectionError("bad varint")


def login_accepted(host: str, port: int, version: str = DEFAULT_VERSION, timeout: float = 3.0) -> bool:
    """True when the server answers a Login Start with Login Success or Set Compression.

    That is the first moment a real client could log in (a Disconnect, e.g. "still starting",
    or no answer, means not ready). The probe hangs up before joining, so no player is created.
    """
    protocol = PROTOCOL_VERSIONS.get(version, 767)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            handshake = _varint(protocol) + _string(host) + struct.pack(">H", port) + _varint(2)
            login = _string("lifelong_probe") + uuid.uuid4().bytes
            sock.sendall(_packet(0x00, handshake) + _packet(0x00, login))
            _read_varint(sock)  # packet length
            packet_id = _read_varint(sock)
            return packet_id in (0x02, 0x03)
    except (OSError, ConnectionError):
        return False


# --- the server ----------------------------------------------------------------------------------

def bridges_dir() -> Path:
    """The Node package with the launcher (override with LIFELONG_BRIDGES)."""
    env = os.environ.get("LIFELONG_BRIDGES")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2] / "bridges"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited child not yet reaped) is not a server
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _is_our_launcher(pid: int) -> bool:
    """Guard against PID reuse: the process must be node running bridges/server/index.js."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _pid_alive(pid)
    return any(arg.endswith(b"server/index.js") for arg in cmdline)


@dataclass
class EmbeddedServer:
    """The embedded flying-squid server for one world folder.

    >>> server = EmbeddedServer(world_dir="worlds/demo", port=25565, seed=42)
    >>> server.start(detach=True)       # returns once a bot can log in
    >>> server.address                  # ServerAddress for the bot side
    >>> server.stop()                   # saves the world
    """

    world_dir: Path | str = Path("worlds/default")
    port: int = DEFAULT_PORT
    seed: int | None = None
    version: str = DEFAULT_VERSION
    host: str = "127.0.0.1"
    difficulty: str = DEFAULT_DIFFICULTY
    daylight_cycle: bool = True
    keep_inventory: bool = False
    mobs: bool = True
    view_distance: int = DEFAULT_VIEW_DISTANCE
    time_scale: float = 1.0  # K: 20 x K ticks a second (see the module docstring)
    # 'grove' or 'natural' (no grove and outcrop at spawn: bridges/server/worldgen.js); None: the
    # style the world folder was made with, else grove. A world keeps its style for good.
    world_style: str | None = None
    node: str = "node"
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    restarts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.world_dir = Path(self.world_dir).resolve()
        if self.difficulty not in DIFFICULTIES:
            raise ServerError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, got {self.difficulty!r}")
        self.time_scale = check_time_scale(self.time_scale)
        self.world_style = self._check_style(self.world_style)

    def _check_style(self, asked: str | None) -> str:
        """The style to serve: the one asked for, which must be the world's own if it has one."""
        path = Path(self.world_dir) / STYLE_FILE
        try:
            saved = json.loads(path.read_text())["world_style"] if path.exists() else None
        except (OSError, ValueError, KeyError):
            saved = None
        if saved is None and (Path(self.world_dir) / "region").is_dir():
            saved = DEFAULT_WORLD  # generated before world styles existed
        if asked is None:
            return saved or DEFAULT_WORLD
        try:
            check_world_style(asked)
        except AblationError as exc:
            raise ServerError(str(exc)) from exc
        if saved is not None and saved != asked:
            raise ServerError(f"{self.world_dir} was generated with world style {saved}, not {asked}: a world "
                              f"keeps its style; use world style {saved} or a new world folder")
        return asked

    # paths and address
    @property
    def state_path(self) -> Path:
        return Path(self.world_dir) / STATE_FILE

    @property
    def log_path(self) -> Path:
        return Path(self.world_dir) / LOG_FILE

    @property
    def address(self) -> ServerAddress:
        return ServerAddress(self.host, self.port, self.version, "offline")

    # state file
    def _read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_path)

    def _live_pid(self) -> int | None:
        state = self._read_state()
        pid = state.get("pid") if state else None
        if pid and _pid_alive(pid) and _is_our_launcher(pid):
            return int(pid)
        return None

    # lifecycle
    def command(self) -> list[str]:
        """The Node command line that runs the launcher for this world."""
        node = shutil.which(self.node)
        if not node:
            raise ServerError("Node.js (v20+) is required for the embedded server: install it, "
                              "or set EmbeddedServer(node=...) to its path.")
        launcher = bridges_dir() / "server" / "index.js"
        if not (bridges_dir() / "node_modules" / "flying-squid").is_dir():
            raise ServerError(f"{bridges_dir()}/node_modules is missing: run `make setup` "
                              "(or `cd bridges && npm ci`).")
        cmd = [node, str(launcher), "--port", str(self.port), "--host", self.host,
               "--world", str(self.world_dir), "--version", self.version,
               "--log", str(self.log_path), "--view-distance", str(self.view_distance),
               "--difficulty", self.difficulty,
               "--daylight-cycle" if self.daylight_cycle else "--no-daylight-cycle",
               "--keep-inventory" if self.keep_inventory else "--no-keep-inventory",
               "--mobs" if self.mobs else "--no-mobs", "--time-scale", str(self.time_scale)]
        if self.seed is not None:
            cmd += ["--seed", str(int(self.seed))]
        if self.world_style != DEFAULT_WORLD:  # the default's command line stays as it always was
            cmd += ["--world-style", self.world_style]
        return cmd

    def start(self, detach: bool = True, timeout: float = 60.0) -> ServerStatus:
        """Start the server and wait until it accepts logins.

        ``detach=True`` puts it in its own session (it outlives this process; stop it with
        :meth:`stop` or ``lifelong server stop``). ``detach=False`` ties it to this process
        (the CLI's foreground mode, which stops it on Ctrl-C/SIGTERM).
        Starting an already running server for this world returns its status.
        """
        check_version(self.version)
        pid = self._live_pid()
        if pid is not None:
            state = self._read_state() or {}
            if state.get("port") != self.port:
                raise ServerError(f"this world is already served by pid {pid} on port {state.get('port')}; "
                                  "stop it first (lifelong server stop --world ...)")
            self._check_running_scale(state)
            return self.status()
        if port_in_use(self.port, self.host):
            raise PortInUse(f"port {self.port} is already in use by another process; "
                            "pass another --port or stop whatever listens there")
        Path(self.world_dir).mkdir(parents=True, exist_ok=True)
        style_file = Path(self.world_dir) / STYLE_FILE
        if not style_file.exists():
            atomic_write_json(style_file, {"world_style": self.world_style})
        cmd = self.command()
        log_mark = self.log_path.stat().st_size if self.log_path.exists() else 0
        out = open(Path(self.world_dir) / OUT_FILE, "ab")  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=str(self.world_dir),
                start_new_session=detach,
            )
        finally:
            out.close()
        self._write_state({"pid": self._proc.pid, "port": self.port, "host": self.host,
                           "seed": self.seed, "version": self.version, "started_at": time.time(),
                           "detached": detach, "restarts": self.restarts, "command": cmd,
                           "time_scale": self.time_scale, "world_style": self.world_style})
        self._wait_ready(log_mark, timeout)
        # The world's real seed (chosen at random for a new world without --seed, or read
        # from level.dat when resuming) is what the server logged.
        found = re.findall(r"World seed: (-?\d+)", self._log_since(log_mark))
        if found:
            state = self._read_state() or {}
            self._write_state({**state, "seed": int(found[-1])})
        status = self.status(probe=False)
        status.ready = True  # _wait_ready just saw a login accepted
        return status

    def _wait_ready(self, log_mark: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                self._clear_state()
                raise self._launch_error(code)
            if self._log_since(log_mark).find(READY_MARK) >= 0 and login_accepted(self.host, self.port, self.version):
                return
            time.sleep(0.2)
        self.stop()
        raise ServerError(f"the server did not accept logins within {timeout:.0f} s; see {self.log_path}")

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(offset)
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def _launch_error(self, code: int) -> ServerError:
        """Turn the launcher's last words (stderr) into an exception the user can act on."""
        try:
            tail = (Path(self.world_dir) / OUT_FILE).read_text(errors="replace").strip().splitlines()[-5:]
        except OSError:
            tail = []
        lines = [ln for ln in tail if ln.startswith("lifelong server:")]
        message = lines[-1].removeprefix("lifelong server:").strip() if lines else "\n".join(tail)
        if "already in use" in message:
            return PortInUse(message)
        if "not supported" in message:
            return UnsupportedVersion(message)
        return ServerError(f"the server exited with code {code}: {message or 'no output'}; see {self.log_path}")

    def _clear_state(self) -> None:
        try:
            self.state_path.unlink()
        except FileNotFoundError:
            pass

    def stop(self, timeout: float = 20.0) -> bool:
        """SIGTERM (the launcher saves the world), then SIGKILL after ``timeout``. False if not running."""
        pid = self._live_pid()
        if pid is None:
            self._clear_state()
            self._reap()
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._reap()
            if not _pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        self._reap()
        self._clear_state()
        return True

    def _reap(self) -> None:
        if self._proc is not None:
            try:
                self._proc.wait(timeout=0.05)
                self._proc = None
            except subprocess.TimeoutExpired:
                pass

    def status(self, probe: bool = True) -> ServerStatus:
        """Is it running, and (with ``probe``) does it accept a login right now?"""
        self._reap()
        state = self._read_state() or {}
        pid = self._live_pid()
        running = pid is not None
        port = state.get("port", self.port)
        ready = running and probe and login_accepted(state.get("host", self.host), port, state.get("version", self.version))
        rate = self.tick_rate() if running else None
        return ServerStatus(world=str(self.world_dir), running=running, ready=ready, pid=pid,
                            port=port if running else None, seed=state.get("seed", self.seed),
                            version=state.get("version", self.version), started_at=state.get("started_at"),
                            log=str(self.log_path), restarts=state.get("restarts", self.restarts),
                            time_scale=float(state.get("time_scale", 1.0)) if running else self.time_scale,
                            target_ticks_per_s=rate.target_ticks_per_s if rate else None,
                            ticks_per_s=rate.ticks_per_s if rate else None)

    def tick_rate(self) -> TickRate | None:
        """The rate the running server reached (its plugin rewrites the file every 2 s), or None."""
        try:
            data = json.loads((Path(self.world_dir) / CLOCK_FILE).read_text())
        except (OSError, ValueError):
            return None
        state = self._read_state() or {}
        if data.get("updated_at", 0) / 1000 < float(state.get("started_at") or 0):
            return None  # left by an earlier run of this world
        return TickRate(float(data.get("time_scale", 1)), float(data.get("target_ticks_per_s", TICKS_PER_SECOND)),
                        data.get("ticks_per_s"), data.get("mean_ticks_per_s"))

    def _check_running_scale(self, state: dict[str, Any]) -> None:
        """The bot must share the world's clock: a server already running at another K is an error."""
        style = state.get("world_style", DEFAULT_WORLD)
        if style != self.world_style:
            raise ServerError(f"this world is already served with world style {style}, not {self.world_style}; "
                              f"stop it first (lifelong server stop --world {self.world_dir}) or ask for "
                              f"--world-style {style}")
        running = float(state.get("time_scale", 1.0))
        if running != self.time_scale:
            raise ServerError(f"this world is already served at time scale {running:g}, not {self.time_scale:g}; "
                              f"stop it first (lifelong server stop --world {self.world_dir}) or ask for "
                              f"--time-scale {running:g}")

    def ensure_running(self, timeout: float = 60.0) -> ServerStatus:
        """Start the server if it is not running (or died), in the same world; return its status."""
        status = self.status(probe=False)
        if status.running:
            self._check_running_scale(self._read_state() or {})
            return status
        had_run = self.state_path.exists() or self.log_path.exists()
        self._clear_state()
        if had_run:
            self.restarts += 1
        return self.start(detach=True, timeout=timeout)

    def wait(self, poll: float = 1.0, restart: bool = True, until: threading.Event | None = None) -> None:
        """Foreground mode: block while the server runs; restart it if it dies unexpectedly.

        Returns when ``until`` is set, or when the server died and ``restart`` is False.
        """
        while until is None or not until.is_set():
            ours_alive = self._proc is not None and self._proc.poll() is None
            if ours_alive or (self._proc is None and self._live_pid() is not None):
                time.sleep(poll)
                continue
            if not restart:
                return
            self._proc = None
            self._clear_state()
            self.restarts += 1
            self.start(detach=False)


# What a bot may be pointed at: an address, "host:port", (host, port), or the embedded server
# itself (then the bot shares its clock and the env restarts it when it dies); None: the default.
ServerTarget: TypeAlias = ServerAddress | EmbeddedServer | str | tuple[str, int] | None
