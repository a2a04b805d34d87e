"""MinecraftEnv: the agent's body. Python drives a mineflayer bot through JSPyBridge.

The JS side (``bridges/bot``) owns the bot, the observation and the sandboxed program runner;
this class owns the lifecycle: connect, reset, one bridge call per step, and crash recovery
(Node or the server dying mid-program). Gymnasium-like, but small on purpose::

    env = MinecraftEnv(ServerAddress("127.0.0.1", 25565, "1.21.1", "offline"))
    obs = env.reset(inventory={"oak_log": 3}, mode="hard")
    obs = env.step(code, skills=[{"name": "craftPlanks", "code": "..."}])
    env.close()

Observation (a JSON-serialisable dict; Voyager's fields, snake_case)
--------------------------------------------------------------------
connected             bool: the bot is in the world (False after an unrecoverable failure)
health, food          float 0-20, int 0-20
saturation, oxygen    float, int
position, velocity    {"x", "y", "z"} (blocks, blocks/tick)
yaw, pitch            float radians
on_ground             bool
equipment             {"head","chest","legs","feet","mainhand","offhand": item name | None}
biome                 str | None
time_of_day           "sunrise" | "day" | "noon" | "sunset" | "night" | "midnight" (Voyager's buckets)
time_ticks            int 0-23999
is_raining            bool
game_mode             "survival" | "creative" | ...
entities              {name: distance} nearest of each kind within 32 blocks; players are
                      "player:<username>", dropped items "item:<item name>"
inventory             {"item name": count} (main inventory and hotbar)
inventory_slots_used  int, of inventory_slots_total (36)
voxels                sorted block names within ±8/±2/±8 of the bot
blocks_seen           sorted block names seen near the bot since the last hard reset
chests                {"x,y,z": {"item": count} | "unknown"} chests seen; contents once opened
After ``step`` (and, with fewer fields, after ``reset``) also:
ok                    bool: the program returned without throwing and was not stopped
error                 None | {"type", "message", "line", "code", "source", "frames"}:
                      ``line``/``code`` are the line of the program that was running; ``source``
                      names where the throw happened ("the program", "skill X", "primitive Y");
                      ``message`` is ready for the LLM (it includes the line)
chat                  [str]: what the bot said (primitives explain failures here) and what the
                      server said, in order
logs                  [str]: the program's console.log output
saves                 [str]: Voyager's ``bot.save(event)`` markers
stopped               None | str: why the runner stopped the program (timeout, stuck, disconnect)
elapsed_ms            int: wall-clock time of the program
restarted             present and True when the env had to restart Node or the server
disconnect_reason     present when the bot lost its connection (kick message or socket end)
background_errors     present when something a program left behind failed after its step
time_scale            float: K, game seconds per wall second (1 = real time; the embedded server's K)
ticks_per_s           float | None: physics ticks a wall second the bot reached (20 x K when it keeps up)
server_ticks_per_s    float | None: after ``step`` on the embedded server, the world's tick rate reached

Programs run in a sandbox (bridges/bot/runner.js: an SES Compartment; the bot's Node runs under
Node's permission model and lifelong.sandbox, see bridges/bot/README.md): no require/process/files/network, no
/commands unless ``allow_commands``, a time limit (``timeout_s``) and a stuck detector
(``stuck_s`` of trying to move without getting 1.5 blocks further; both default to
:mod:`lifelong.minecraft.limits` and reach the runner in each step's options) that stop the
program and the bot's movement; listeners and timers a program registers end with its step. Both are game
seconds: at time scale K they last 1/K on the wall, as does everything a program waits for.
"""

from __future__ import annotations

import atexit
import importlib.util
import ipaddress
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from lifelong.minecraft.limits import PROGRAM_TIMEOUT_S, STUCK_S, VIEWER_PORT
from lifelong.minecraft.program import program_info
from lifelong.minecraft.server import ServerAddress, ServerTarget, note_tick_rate, time_scale_for

if TYPE_CHECKING:
    from lifelong.library import SkillLibrary

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
BRIDGES = ROOT / "bridges"
BOT_ENTRY = BRIDGES / "bot" / "index.js"
PRIMITIVES_DIR = ROOT / "skills" / "minecraft" / "primitives"


class EnvError(RuntimeError):
    """The body cannot do what was asked (no server, no operator rights); the message says why."""


def _address_of(target: Any) -> ServerAddress:
    """Accept a ServerAddress, an object with ``.address``, "host:port", or (host, port)."""
    if target is None:
        return ServerAddress()
    if hasattr(target, "address") and not isinstance(target, str):
        target = target.address
    if isinstance(target, ServerAddress):
        return target
    if isinstance(target, str):
        host, _, port = target.rpartition(":")
        return ServerAddress(host or "127.0.0.1", int(port))
    if isinstance(target, tuple):
        return ServerAddress(*target)
    return ServerAddress(
        getattr(target, "host", "127.0.0.1"), int(getattr(target, "port", 25565)),
        getattr(target, "version", "1.21.1") or "1.21.1", getattr(target, "auth", "offline") or "offline",
    )


class SkillIndex:
    """Fast, cached look-ups of library skills for launching programs.

    The library's own look-ups read and validate a JSON record per call and list every skill
    folder to know the names: ~110 ms per launch at 1,000 skills (benchmarks/bridge_bench.py).
    Here a program's calls come from the runner's parser (:func:`program_info`, cached), only
    those names are checked on disk, and each record is cached until its skill folder changes
    (a new version adds a folder).
    """

    def __init__(self, library: SkillLibrary) -> None:
        self.library = library
        self._cache: dict[str, tuple[int, list[str], str]] = {}

    def _entry(self, name: str) -> tuple[list[str], str] | None:
        folder = Path(self.library.skills_dir) / name
        try:
            stamp = folder.stat().st_mtime_ns
        except (OSError, ValueError):
            return None
        hit = self._cache.get(name)
        if hit and hit[0] == stamp:
            return hit[1], hit[2]
        if name not in self.library:
            return None
        record = self.library.get(name)
        code = self.library.code(name)
        self._cache[name] = (stamp, list(record.calls), code)
        return list(record.calls), code

    def called_by(self, code: str) -> list[str]:
        """Library skills that ``code`` calls directly, first call first."""
        return [name for name in program_info(code).calls if self._entry(name) is not None]

    def with_callees(self, names: Iterable[str], exclude: Iterable[str] = ()) -> list[dict[str, str]]:
        """[{"name", "code"}] for ``names`` and everything they call, each once, callers first."""
        out: dict[str, str] = {}
        skip = set(exclude)
        queue = [n for n in names if n not in skip]
        while queue:
            name = queue.pop(0)
            if name in out or name in skip:
                continue
            entry = self._entry(name)
            if entry is None:
                continue
            calls, code = entry
            out[name] = code
            queue.extend(calls)
        return [{"name": n, "code": c} for n, c in out.items()]

    def for_program(self, code: str) -> list[dict[str, str]]:
        """Exactly the skills a program needs: those it calls and their callees; a function
        the program defines itself shadows a library skill of the same name."""
        own = {name for name, _ in program_info(code).functions}
        return self.with_callees(self.called_by(code), exclude=own)


def resolve_skills(skills: Any, library: SkillLibrary | SkillIndex | None = None,
                   code: str | None = None) -> list[dict[str, str]]:
    """Normalise ``skills`` to [{"name", "code"}], adding library callees of named skills.

    Accepts dicts with name/code (used as given: the caller already chose), Skill records, or
    names; records and names are looked up in ``library`` and bring their ``calls`` along, so a
    program gets exactly what it needs and not the whole library (Voyager re-sends everything).
    ``skills=None`` with a library and ``code``: the skills that code calls, with callees.
    """
    index = library if isinstance(library, SkillIndex) else (SkillIndex(library) if library is not None else None)
    if skills is None:
        return index.for_program(code) if (index is not None and code) else []
    if not skills:
        return []
    out: dict[str, str] = {}
    wanted: list[str] = []
    for s in skills if not isinstance(skills, (str, Mapping)) else [skills]:
        if isinstance(s, Mapping):
            out[str(s["name"])] = str(s["code"])
        else:
            wanted.append(s if isinstance(s, str) else s.name)
    if wanted:
        if index is None:
            raise EnvError("skills given by name need a library: MinecraftEnv(..., library=SkillLibrary(dir))")
        missing = [w for w in wanted if index._entry(w) is None]
        if missing:
            raise EnvError(f"no skill named {', '.join(map(repr, missing))} in the library")
        for item in index.with_callees(wanted):
            out.setdefault(item["name"], item["code"])
    return [{"name": n, "code": c} for n, c in out.items()]


# ---- the bot's Node process, confined ----------------------------------------------------------
#
# Two layers under the runner's language layer (SES, bridges/bot/runner.js), for the day a
# program gets past it:
# - Node's permission model: reads only of the code Node runs (bridges/, the primitives,
#   JSPyBridge's bridge.js), no writes (except microsoft auth's token cache), no child
#   processes, no worker threads, no native addons.
# - lifelong.sandbox (Landlock, seccomp, rlimits): the same reads plus system libraries, TCP
#   connect only to the Minecraft servers' ports (and 443 for microsoft auth), bind only a
#   viewer's port, execute only the node binary, no new processes, a memory cap.
# JSPyBridge runs ``[NODE_BIN, bridge.js]`` with NODE_BIN one path, so NODE_BIN is a generated
# launcher script (private temp folder) that execs ``python -m lifelong.sandbox --policy ... --
# node FLAGS bridge.js``. One Node serves every env of this Python process, so it is launched
# for the union of their needs and relaunched when a new env needs more.

NODE_FLAGS = (
    "--experimental-permission",
    # ReDoS: a regular expression that backtracks too much switches to V8's linear engine
    # (Node 20 has it; backreferences and lookarounds still backtrack: the step watchdog below).
    "--enable-experimental-regexp-engine-on-excessive-backtracks",
)
NODE_MEMORY_MB = 4096  # private memory written by the bot's Node; a runaway allocation ends there
STEP_GRACE_S = 10.0  # past a step's own limit, this long without an answer means Node is wedged
MICROSOFT_AUTH_PORT = 443


@dataclass(frozen=True)
class NodeNeeds:
    """What the bot's Node process must be able to do; ``|`` unites two envs' needs."""

    reads: frozenset[Path] = frozenset()
    writes: frozenset[Path] = frozenset()
    connect: frozenset[int] = frozenset()
    bind: frozenset[int] = frozenset()
    dns: bool = False

    def __or__(self, other: NodeNeeds) -> NodeNeeds:
        return NodeNeeds(self.reads | other.reads, self.writes | other.writes, self.connect | other.connect,
                         self.bind | other.bind, self.dns or other.dns)

    def covers(self, other: NodeNeeds) -> bool:
        return (self | other) == self


def jspybridge_dir() -> Path:
    """JSPyBridge's js folder (bridge.js), found without importing it (the import starts Node)."""
    spec = importlib.util.find_spec("javascript")
    if spec is None or spec.origin is None:
        raise EnvError("the `javascript` package (JSPyBridge) is missing: run `make setup`")
    return Path(spec.origin).parent / "js"


def node_needs(address: ServerAddress, primitives_dir: Path, viewer_port: int | None = None) -> NodeNeeds:
    """The needs of one env: its server's port, its primitives, its viewer, its auth."""
    reads = {BRIDGES.resolve(), Path(primitives_dir).resolve(), jspybridge_dir().resolve()}
    writes: set[Path] = set()
    connect = {int(address.port)}
    if address.auth == "microsoft":
        # prismarine-auth keeps the account's tokens here (minecraft-protocol's default folder).
        cache = Path.home() / ".minecraft" / "nmp-cache"
        cache.mkdir(parents=True, exist_ok=True)
        writes.add(cache.resolve())
        connect.add(MICROSOFT_AUTH_PORT)
    try:
        ipaddress.ip_address(address.host)
        dns = address.auth == "microsoft"
    except ValueError:
        dns = True  # a host name: getaddrinfo asks a resolver over UDP
    return NodeNeeds(frozenset(reads), frozenset(writes), frozenset(connect),
                     frozenset({int(viewer_port)} if viewer_port else ()), dns)


def node_argv(needs: NodeNeeds, node: str | None = None) -> list[str]:
    """Node and its flags (the script to run comes after): the permission model, read-only."""
    binary = node or shutil.which("node")
    if not binary:
        raise EnvError("Node.js (v20+) is required for the Minecraft body: install it (`make setup`)")
    argv = [binary, *NODE_FLAGS]
    argv += [f"--allow-fs-read={p}" for p in sorted(needs.reads | needs.writes)]  # one flag per path (Node 20)
    argv += [f"--allow-fs-write={p}" for p in sorted(needs.writes)]
    return argv


def node_policy(needs: NodeNeeds) -> Any:
    """The OS layer (lifelong.sandbox.Policy) for the bot's Node process."""
    from lifelong import sandbox

    return sandbox.Policy(
        read=(*sandbox.SYSTEM_READS, *sorted(needs.reads)), write=tuple(sorted(needs.writes)),
        network=True, udp=needs.dns, connect_tcp=tuple(sorted(needs.connect)),
        bind_tcp=tuple(sorted(needs.bind)), memory_mb=NODE_MEMORY_MB)


def node_launch_argv(needs: NodeNeeds) -> list[str]:
    """The full command that starts the bot's Node confined by both layers (bridge.js follows)."""
    from lifelong import sandbox

    argv = node_argv(needs)
    if sandbox.unsafe():
        log.warning("%s is set: the bot's Node runs without the OS sandbox (permission model only)",
                    sandbox.UNSAFE_ENV)
        return argv
    why = sandbox.available()
    if why:
        raise EnvError(f"cannot confine the bot's Node process: {why}. To run it unconfined anyway, "
                       f"at your own risk, set {sandbox.UNSAFE_ENV}=1.")
    return sandbox.exec_argv(node_policy(needs), argv)


def write_launcher(argv: list[str]) -> Path:
    """An executable that execs ``argv`` plus its own arguments: what NODE_BIN must be."""
    folder = Path(tempfile.mkdtemp(prefix="lifelong-node-"))  # 0700, ours alone
    atexit.register(shutil.rmtree, folder, True)
    script = folder / "node"
    script.write_text("#!/bin/sh\n# Generated by lifelong/minecraft/env.py for JSPyBridge's NODE_BIN: "
                      "confine, then run node.\nexec " + " ".join(map(shlex.quote, argv)) + ' "$@"\n')
    script.chmod(0o700)
    return script


_node_launch: dict[str, Any] = {"needs": NodeNeeds(), "pid": None}  # the running Node's launch
_node_users: set[int] = set()  # the envs whose bodies live in it


class _Bridge:
    """The Node process of JSPyBridge and our body object in it; restartable after a crash."""

    def __init__(self) -> None:
        self.body: Any = None
        self.methods: dict[str, Any] = {}
        self.body_pid: int | None = None  # the Node process our body lives in

    @staticmethod
    def _node_proc() -> Any:
        # Not imported yet: no Node (importing javascript would start one, unconfined).
        connection = sys.modules.get("javascript.connection")
        return getattr(connection, "proc", None)

    def alive(self) -> bool:
        proc = self._node_proc()
        return proc is not None and proc.poll() is None

    def ready(self) -> bool:
        """Our body exists in the running Node (another env may have restarted Node since)."""
        return self.body is not None and self.alive() and self.pid() == self.body_pid

    def start(self, primitives_dir: Path, needs: NodeNeeds | None = None) -> Any:
        """Start (or reuse) the confined Node for ``needs`` and create our body in it."""
        # Node warnings go to the bridge's stderr, which JSPyBridge echoes to our stdout.
        os.environ.setdefault("NODE_NO_WARNINGS", "1")
        needs = (needs or NodeNeeds()) | _node_launch["needs"]
        launcher = None
        if not (self.alive() and self.pid() == _node_launch["pid"] and _node_launch["needs"].covers(needs)):
            launcher = str(write_launcher(node_launch_argv(needs)))
            if self.alive():  # unconfined (started by another bridge user) or launched for less
                log.info("relaunching the bot's Node process confined for %s", needs)
                self.kill()
        # Importing javascript starts Node with NODE_BIN as read at that import; it also sets
        # FORCE_COLOR process-wide (rich then colours every later subprocess's output, even
        # piped). Both environment variables are put back as they were.
        saved = {k: os.environ.get(k) for k in ("FORCE_COLOR", "NODE_BIN")}
        if launcher:
            os.environ["NODE_BIN"] = launcher
        try:
            import javascript
            from javascript import config, connection
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if launcher:
            connection.NODE_BIN = launcher  # for init() below and JSPyBridge's own restarts

        if not self.alive() and config.event_loop is not None:
            # JSPyBridge has no restart: drop the dead loop so init() spawns a fresh Node.
            config.event_loop = None
            javascript.init()
        # Node's own require by absolute path: javascript.require() falls back to running npm
        # into site-packages when a require fails, which must never happen.
        module = config.global_jsi._require(str(BOT_ENTRY), timeout=60)
        self.body = module.createBody(json.dumps({"primitivesDir": str(primitives_dir)}))
        # Method proxies fetched once: calling one is then a single round trip.
        self.methods = {name: getattr(self.body, name) for name in
                        ("connect", "step", "reset", "observe", "ping", "connected", "disconnect", "viewer", "pid")}
        self.body_pid = self.pid()
        if launcher:
            _node_launch.update(needs=needs, pid=self.body_pid)
        confined = json.loads(self.body.confinement())
        if not confined["permission_model"] or confined["child_process"]:
            self.kill()
            raise EnvError(f"the bot's Node process is not confined ({confined}); it was stopped")
        return self.body

    def release(self) -> None:
        """Stop the confined Node and start JSPyBridge's plain one, as it was before any env
        (other users of JSPyBridge in this process, such as tests, drive their own bots)."""
        import javascript
        from javascript import config, connection

        self.kill()
        connection.NODE_BIN = os.environ.get("NODE_BIN") or "node"
        _node_launch.update(needs=NodeNeeds(), pid=None)
        config.event_loop = None
        javascript.init()

    def pid(self) -> int | None:
        proc = self._node_proc()
        return proc.pid if proc is not None else None

    def kill(self) -> None:
        pid = self.pid()
        if pid and self.alive():
            os.kill(pid, signal.SIGKILL)
            deadline = time.time() + 5
            while self.alive() and time.time() < deadline:
                time.sleep(0.02)


class Crash(RuntimeError):
    """Node died, or a call outlived its limit, while the bridge was busy."""


class MinecraftEnv:
    """The Minecraft body: reset, step(code, skills) -> observation, close.

    ``server`` is a ServerAddress, "host:port", or an EmbeddedServer (then the env restarts
    it, in the same world, when it dies: ``ensure_running()``). Real vanilla/Paper servers work too: pass their address; hard resets need the bot to
    be an operator there (creative-mode slot setting and /tp).
    """

    def __init__(
        self,
        server: ServerTarget = None,
        *,
        library: SkillLibrary | None = None,
        username: str = "bot",
        timeout_s: float = PROGRAM_TIMEOUT_S,
        stuck_s: float = STUCK_S,
        connect_timeout_s: float = 30.0,
        primitives_dir: Path | str | None = None,
        viewer_port: int | None = None,
        allow_commands: bool = False,
        time_scale: float | None = None,
    ) -> None:
        self.server = server
        self.address = _address_of(server)
        self.library = library
        self.skill_index = SkillIndex(library) if library is not None else None
        self.username = username
        self.timeout_s = timeout_s
        self.stuck_s = stuck_s
        self.connect_timeout_s = connect_timeout_s
        self.primitives_dir = Path(primitives_dir or PRIMITIVES_DIR)
        self.viewer_port = viewer_port
        self.viewer_url: str | None = None
        # Programs may not send /commands unless allowed: an agent must not /give itself the
        # items its task asks for (the critic checks the inventory).
        self.allow_commands = allow_commands
        # K: the embedded server's (the bot shares its world's clock); 1 on any other server.
        self.time_scale = time_scale_for(server, time_scale)
        self.seed: int | None = None
        self.last_obs: dict[str, Any] = {}
        self.restarts = 0
        self._bridge = _Bridge()
        self._connected = False

    # ---- public API --------------------------------------------------------------------

    def reset(
        self,
        seed: int | None = None,
        inventory: Mapping[str, int] | None = None,
        position: Mapping[str, float] | None = None,
        mode: str = "hard",
    ) -> dict[str, Any]:
        """Connect if needed; ``hard``: exactly ``inventory`` and teleport to ``position``
        (when given); ``soft``: keep everything, just observe.

        ``seed`` is recorded; the world itself comes from the server (EmbeddedServer(seed=...)).
        """
        if mode not in ("hard", "soft"):
            raise ValueError(f"mode must be 'hard' or 'soft', got {mode!r}")
        self._maybe_reseed(seed)
        opts = json.dumps({"mode": mode, "inventory": dict(inventory or {}), "position": _pos(position)})
        for attempt in range(2):
            try:
                self._ensure_connected()
                obs = self._call("reset", opts, limit_s=60)
                break
            except Crash:
                if attempt:
                    raise EnvError("the Minecraft body crashed twice while resetting; see the server log") from None
                self._connected = False
            except EnvError:
                raise
            except Exception as err:  # noqa: BLE001 - a JS error: its message says what to fix
                raise EnvError(_js_message(err)) from None
        self.last_obs = obs
        return obs

    def step(self, code: str, skills: Any = None, timeout_s: float | None = None) -> dict[str, Any]:
        """Run one program (its last async function gets ``bot``); return the observation.

        ``skills``: [{"name", "code"}] as chosen by the caller, or skill names / records
        (their callees come along from the library), or None: with a library, the skills the
        code calls and their callees.

        Never raises for program faults or crashes: those come back in ``obs["error"]``.
        """
        timeout = float(timeout_s or self.timeout_s)
        skill_list = resolve_skills(skills, self.skill_index, code)
        before = dict(self.last_obs)
        try:
            self._ensure_connected()
            opts = json.dumps({"timeoutMs": int(timeout * 1000), "stuckMs": int(self.stuck_s * 1000),
                               "allowCommands": self.allow_commands})
            # The watchdog: the runner ends a program at its limit; Node silent STEP_GRACE_S later
            # means its one thread is held by something no guard can interrupt.
            limit = timeout / self.time_scale
            wedged = (f"the program held the bot's Node process for more than the step's {limit:g} s limit "
                      f"+ {STEP_GRACE_S:g} s (a synchronous call no guard can stop: a regular expression "
                      "that backtracks without end, a huge string or array), so Node was killed and "
                      "restarted. Avoid such regular expressions and huge allocations")
            obs = self._call("step", code, json.dumps(skill_list), opts, limit_s=limit + STEP_GRACE_S,
                             wedged=wedged)
        except Crash as crash:
            return self._recover(str(crash), before)
        except EnvError as err:  # no server to reach: report it, the caller decides what next
            return {**before, "connected": False, "ok": False, "chat": [],
                    "error": {"type": "Disconnected", "message": f"Disconnected: {err}", "line": None,
                              "code": None, "source": None, "frames": []}}
        if not obs.get("connected", True):
            reason = obs.get("disconnect_reason") or (obs.get("error") or {}).get("message") or "no reason given"
            return self._recover(f"the bot was disconnected from the server during the program ({reason})", before, obs)
        self.last_obs = note_tick_rate(self.server, obs)
        return obs

    def observe(self) -> dict[str, Any]:
        """The current observation, without running anything."""
        try:
            self._ensure_connected()
            return self._call("observe", limit_s=30)
        except Crash:
            self._connected = False
            self._ensure_connected()
            return self._call("observe", limit_s=30)

    def ping(self) -> float:
        """One bridge round trip (benchmarks); returns seconds."""
        self._ensure_connected()
        ping = self._bridge.methods["ping"]
        t = time.perf_counter()
        ping()
        return time.perf_counter() - t

    @property
    def node_pid(self) -> int | None:
        """PID of the Node process running the bot (tests kill it to check recovery)."""
        return self._bridge.pid()

    def start_viewer(self, port: int = VIEWER_PORT) -> str:
        """Serve prismarine-viewer on http://localhost:port so a person can watch the bot."""
        self.viewer_port = port
        if not _node_launch["needs"].covers(self._node_needs()):
            self._connected = False  # Node is relaunched with the right to bind this port
        self._ensure_connected()
        self.viewer_url = str(self._bridge.methods["viewer"](port, False, timeout=30))
        return self.viewer_url

    def close(self) -> None:
        """Disconnect the bot. When no other env uses it, the confined Node is replaced by a
        plain one for other JSPyBridge users of this process (they connect elsewhere)."""
        if self._connected and self._bridge.ready():
            try:
                self._bridge.methods["disconnect"](timeout=10)
            except Exception as err:  # noqa: BLE001 - closing must not raise
                log.debug("disconnect failed: %s", err)
        self._connected = False
        _node_users.discard(id(self))
        if not _node_users and self._bridge.alive() and self._bridge.pid() == _node_launch["pid"]:
            self._bridge.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- internals ---------------------------------------------------------------------

    def _maybe_reseed(self, seed: int | None) -> None:
        # The world (and its seed) belongs to the server: EmbeddedServer(seed=...) makes it.
        # A different seed than the running world's is reported, not silently ignored.
        if seed is None:
            return
        self.seed = seed
        current = getattr(self.server, "seed", None)
        if current is not None and int(current) != int(seed):
            log.warning("reset(seed=%s): the server's world has seed %s; start a server with "
                        "that seed (another world folder) to change worlds", seed, current)

    def _ensure_connected(self) -> None:
        if self._connected and self._bridge.ready():
            try:
                if self._bridge.methods["connected"](timeout=10):
                    return
            except Exception as err:  # noqa: BLE001 - a dead bridge is handled by reconnecting
                log.debug("bridge check failed, reconnecting: %s", err)
        self._connect()

    def _connect(self) -> None:
        self._ensure_server()
        needs = self._node_needs()
        if not self._bridge.ready() or not _node_launch["needs"].covers(needs):
            self._bridge.start(self.primitives_dir, needs)
        a = self.address
        opts = {"host": a.host, "port": a.port, "version": a.version, "auth": a.auth,
                "username": self.username, "connectTimeoutMs": int(self.connect_timeout_s * 1000),
                "timeScale": self.time_scale}
        last: Exception | None = None
        for attempt in range(3):  # the server may still hold the previous session for a moment
            try:
                self.last_obs = self._call("connect", json.dumps(opts), limit_s=self.connect_timeout_s + 15)
                self._connected = True
                _node_users.add(id(self))
                break
            except Crash:
                raise
            except Exception as err:  # noqa: BLE001 - JS errors carry the actionable message
                last = err
                if "connection refused" in str(getattr(err, "js", "") or err):
                    break  # nothing listens there: retrying will not help
                time.sleep(1.0 + attempt)
        if not self._connected:
            raise EnvError(_js_message(last))
        if self.viewer_port and self.viewer_url:
            self.viewer_url = str(self._bridge.methods["viewer"](self.viewer_port, False, timeout=30))

    def _node_needs(self) -> NodeNeeds:
        return node_needs(self.address, self.primitives_dir, self.viewer_port)

    def _ensure_server(self) -> None:
        """Restart an embedded server that died, in the same world (EmbeddedServer only)."""
        srv = self.server
        if srv is not None and hasattr(srv, "ensure_running"):
            srv.ensure_running()
            self.address = _address_of(srv)

    def _call(self, method: str, *args: Any, limit_s: float, wedged: str | None = None) -> dict[str, Any]:
        """One bridge call, watched: returns its JSON result, or raises Crash if Node dies
        or the call outlives ``limit_s`` (then Node is killed, since it is wedged; ``wedged``
        says why, for the step's error)."""
        fn = self._bridge.methods[method]
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["value"] = fn(*args, timeout=limit_s + 5)
            except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
                box["error"] = err

        worker = threading.Thread(target=call, name=f"bridge-{method}", daemon=True)
        worker.start()
        deadline = time.monotonic() + limit_s
        while worker.is_alive():
            worker.join(0.05)
            if not worker.is_alive():
                break
            if not self._bridge.alive():
                raise Crash("the Node process running the bot died mid-call")
            if time.monotonic() > deadline:
                self._bridge.kill()
                raise Crash(wedged or f"the bot did not answer within {limit_s:.0f} s, so its Node process was restarted")
        if "error" in box:
            if not self._bridge.alive():
                raise Crash("the Node process running the bot died mid-call")
            raise box["error"]
        value = box.get("value")
        return json.loads(value) if isinstance(value, str) else {"value": value}

    def _recover(self, why: str, before: dict[str, Any], partial: dict[str, Any] | None = None) -> dict[str, Any]:
        """Restart what died, reconnect, put inventory and position back as they were before
        the step, and describe what happened as the step's error."""
        self.restarts += 1
        self._connected = False
        log.warning("recovering the Minecraft body: %s", why)
        restore_error = None
        try:
            self._connect()
            if before.get("inventory") is not None:
                self.last_obs = self._call(
                    "reset",
                    json.dumps({"mode": "hard", "inventory": before.get("inventory") or {},
                                "position": _pos(before.get("position"))}),
                    limit_s=60,
                )
        except Exception as err:  # noqa: BLE001 - reported in the observation
            restore_error = _js_message(err)
        obs = dict(self.last_obs if self._connected else (partial or before))
        message = f"Crash: {why}; the program was stopped."
        if restore_error:
            message += f" Recovery failed: {restore_error}"
            obs["connected"] = False
        else:
            message += " The body was restarted and reconnected; inventory and position are as before the program."
        obs.update(ok=False, restarted=True, chat=list((partial or {}).get("chat") or []),
                   error={"type": "Crash", "message": message, "line": None, "code": None,
                          "source": None, "frames": []})
        return obs


def _pos(position: Mapping[str, float] | None) -> dict[str, float] | None:
    if not position:
        return None
    return {"x": float(position["x"]), "y": float(position["y"]), "z": float(position["z"])}


def _js_message(err: BaseException | None) -> str:
    """The first line of a JS error, without JSPyBridge's decoration."""
    if err is None:
        return "unknown error"
    text = str(getattr(err, "js", "") or err)
    for line in text.splitlines():
        line = line.strip().lstrip("☕").strip()
        if line.startswith("Error: "):
            return line[len("Error: "):]
    return text.strip().splitlines()[-1] if text.strip() else repr(err)
