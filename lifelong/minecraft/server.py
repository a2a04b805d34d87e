"""The embedded Minecraft server (flying-squid in ``bridges/server``): start, stop, status, restart.

This module is the ONLY place that starts a server. The exploration command calls
:meth:`EmbeddedServer.ensure_running` before it connects a bot, so a server that died is
restarted in the same world folder (chunks, players, chests and game rules live there).

A world folder holds everything of one world::

    worlds/demo/
      region/ level.dat playerdata/   flying-squid's Anvil world
      lifelong-state.json             game rules + time (written by the gamerules plugin)
      lifelong-server.json            pid, port, seed, version of the running server (this module)
      server.log                      the server's log (flying-squid + launcher)
      server.out                      the Node process's stdout/stderr (crash traces)

Readiness means what a bot needs: the launcher reported ``ready`` and the port accepts a login.
"""

from __future__ import annotations

import json
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
from typing import Any

SUPPORTED_VERSIONS = ("1.21.1",)  # keep in sync with bridges/server/index.js (a test checks)
DEFAULT_VERSION = "1.21.1"
DEFAULT_PORT = 25565
PROTOCOL_VERSIONS = {"1.21.1": 767}
DIFFICULTIES = ("peaceful", "easy", "normal", "hard")
STATE_FILE = "lifelong-server.json"
LOG_FILE = "server.log"
OUT_FILE = "server.out"
READY_MARK = "[launcher] ready on port"


class ServerError(RuntimeError):
    """A server problem, worded so the user knows what to do."""


class PortInUse(ServerError):
    """The port is taken by a process that is not our server for this world."""


class UnsupportedVersion(ServerError):
    """The embedded server cannot speak this Minecraft version."""


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
    difficulty: str = "easy"
    daylight_cycle: bool = True
    keep_inventory: bool = False
    mobs: bool = True
    view_distance: int = 6
    node: str = "node"
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    restarts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.world_dir = Path(self.world_dir).resolve()
        if self.difficulty not in DIFFICULTIES:
            raise ServerError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, got {self.difficulty!r}")

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
               "--mobs" if self.mobs else "--no-mobs"]
        if self.seed is not None:
            cmd += ["--seed", str(int(self.seed))]
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
            return self.status()
        if port_in_use(self.port, self.host):
            raise PortInUse(f"port {self.port} is already in use by another process; "
                            "pass another --port or stop whatever listens there")
        Path(self.world_dir).mkdir(parents=True, exist_ok=True)
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
                           "detached": detach, "restarts": self.restarts, "command": cmd})
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
        return ServerStatus(world=str(self.world_dir), running=running, ready=ready, pid=pid,
                            port=port if running else None, seed=state.get("seed", self.seed),
                            version=state.get("version", self.version), started_at=state.get("started_at"),
                            log=str(self.log_path), restarts=state.get("restarts", self.restarts))

    def ensure_running(self, timeout: float = 60.0) -> ServerStatus:
        """Start the server if it is not running (or died), in the same world; return its status."""
        status = self.status(probe=False)
        if status.running:
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
