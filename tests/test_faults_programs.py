"""Programs as attackers: on the real bot, no host object leads out of the sandbox, and
the faults a program can cause (endless promise chains, catastrophic regular expressions, throwing
timers, stray rejections, chat floods) end its step with an error while the body lives on. And
the layer below: even code holding ``process`` in the bot's Node can start no process, write no
file and connect nowhere but the Minecraft server.

The first tests need no server (they run the bot's Node command line directly); the rest share
one embedded world and are marked slow."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_support import running_server

from lifelong.minecraft.env import (
    BRIDGES,
    PRIMITIVES_DIR,
    STEP_GRACE_S,
    MinecraftEnv,
    node_launch_argv,
    node_needs,
)
from lifelong.minecraft.server import EmbeddedServer, ServerAddress

pytestmark = pytest.mark.minecraft

PORT = 25613
TIMEOUT_S = 3

# ---- the process layer: what the bot's Node may do even if a program held `process` --------------

# Tries, in the launched Node, what an escaped program would do with `process`; prints JSON.
PROBE = r"""
const out = {}
const refused = (name, fn) => { try { fn(); out[name] = 'ALLOWED' } catch (e) { out[name] = e.code || e.message } }
refused('spawn', () => process.getBuiltinModule('child_process').execSync('echo pwned > %(tmp)s/spawned'))
refused('write', () => process.getBuiltinModule('fs').writeFileSync('%(tmp)s/written', 'pwned'))
refused('read_home', () => process.getBuiltinModule('fs').readFileSync('%(tmp)s/secret'))
refused('worker', () => new (process.getBuiltinModule('worker_threads').Worker)('1', { eval: true }))
const net = process.getBuiltinModule('net')
const tryConnect = (port) => new Promise(resolve => {
  const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve('CONNECTED') })
  s.on('error', e => resolve(e.code))
})
Promise.all([tryConnect(%(allowed)d), tryConnect(%(other)d)]).then(([allowed, other]) => {
  out.connect_allowed = allowed
  out.connect_other = other
  console.log(JSON.stringify(out))
})
"""

# The same, as a program in the runner with `process` handed in by the test (simulating a program
# that got past the language layer), in the bot's Node launched as env.py launches it.
RUNNER_PROBE = r"""
const { EventEmitter } = require('events')
const { Vec3 } = require('%(bridges)s/node_modules/vec3')
const { runProgram } = require('%(bridges)s/bot/runner')
const bot = new EventEmitter()
bot.entity = { position: new Vec3(0, 64, 0) }
bot.pathfinder = { isMoving: () => false, stop () {}, setGoal () {} }
const code = `async function attack(bot) {
  for (const [what, act] of [
    ['spawn', () => process.getBuiltinModule('child_process').execSync('echo pwned > %(tmp)s/spawned')],
    ['write', () => process.getBuiltinModule('fs').writeFileSync('%(tmp)s/written', 'pwned')]]) {
    try { act(); bot.chat(what + ' ALLOWED') } catch (e) { bot.chat(what + ' ' + (e.code || e.message)) }
  }
}`
runProgram({ bot, code, helpers: { process }, timeoutMs: 2000 }).then(r => console.log(JSON.stringify(r)))
"""


def _listening() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def test_the_bot_node_can_spawn_write_read_and_connect_nowhere_else(tmp_path: Path) -> None:
    allowed, other = _listening(), _listening()
    (tmp_path / "secret").write_text("not for the bot")
    try:
        address = ServerAddress("127.0.0.1", allowed.getsockname()[1])
        argv = node_launch_argv(node_needs(address, PRIMITIVES_DIR))
        probe = PROBE % {"tmp": tmp_path, "allowed": allowed.getsockname()[1], "other": other.getsockname()[1]}
        proc = subprocess.run([*argv, "-e", probe], capture_output=True, text=True, timeout=60, check=False)
    finally:
        allowed.close()
        other.close()
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["spawn"] == out["write"] == out["read_home"] == out["worker"] == "ERR_ACCESS_DENIED", out
    assert out["connect_allowed"] == "CONNECTED"
    assert out["connect_other"] in ("EACCES", "EPERM"), out  # Landlock: only the server's port
    assert not (tmp_path / "spawned").exists() and not (tmp_path / "written").exists()


def test_a_program_given_process_still_cannot_spawn_or_write(tmp_path: Path) -> None:
    argv = node_launch_argv(node_needs(ServerAddress("127.0.0.1", PORT), PRIMITIVES_DIR))
    probe = RUNNER_PROBE % {"bridges": BRIDGES, "tmp": tmp_path}
    proc = subprocess.run([*argv, "-e", probe], capture_output=True, text=True, timeout=60, check=False)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["chat"] == ["spawn ERR_ACCESS_DENIED", "write ERR_ACCESS_DENIED"], result
    assert not (tmp_path / "spawned").exists() and not (tmp_path / "written").exists()


# ---- on the real bot -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    yield from running_server(tmp_path_factory, PORT, mobs=False, daylight_cycle=False)


@pytest.fixture(scope="module")
def env(server: EmbeddedServer) -> Iterator[MinecraftEnv]:
    e = MinecraftEnv(server, username="attacker", timeout_s=TIMEOUT_S, stuck_s=5)
    e.reset(inventory={"oak_log": 2, "stone_pickaxe": 1}, mode="hard")
    yield e
    e.close()


def _escape(route: str) -> str:
    """A program that takes `route` to the host's process and says so if it got there."""
    return ("async function escape(bot) {\n"
            f"  const got = await (async () => {route})()\n"
            "  if (got && typeof got.pid === 'number') bot.chat('ESCAPED ' + got.pid)\n"
            "  else bot.chat('no process')\n"
            "}\n")


FN = "({}).constructor.constructor('return process')()".format
ROUTES = {
    "bot._client": FN("bot._client"),
    "bot._client.socket": FN("bot._client.socket"),
    "bot.entity.position (Vec3)": FN("bot.entity.position"),
    "an inventory item": FN("bot.inventory.items()[0]"),
    "a block": FN("bot.blockAt(bot.entity.position.offset(0, -1, 0))"),
    "mcData": FN("mcData.blocksByName.stone"),
    "bot.registry": FN("bot.registry"),
    "a pathfinder goal": FN("new GoalNear(0, 0, 0, 1)"),
    "new Movements(bot)": FN("new Movements(bot)"),
    "a promise from bot.waitForTicks": FN("bot.waitForTicks(1)"),
    "an error from bot.dig": FN("await bot.dig(null).catch(e => e)"),
    "bot.dig itself": "bot.dig.constructor('return process')()",
    "the bot's prototype chain": FN("Object.getPrototypeOf(Object.getPrototypeOf(bot))"),
}


@pytest.mark.slow
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_no_host_object_of_the_real_bot_leads_to_process(env: MinecraftEnv, route: str) -> None:
    pid = env.node_pid
    obs = env.step(_escape(route))
    assert not any(c.startswith("ESCAPED") for c in obs["chat"]), obs["chat"]
    assert not obs["ok"] and "cannot make code from strings or reach the host" in obs["error"]["message"]
    assert obs["error"]["line"] == 2
    assert env.node_pid == pid and not obs.get("restarted")


WALK = """async function walk(bot) {
  const seen = new Set(), queue = [bot, mcData, Vec3, GoalNear, Movements, bot.entity.position]
  let escapes = 0, tried = 0
  const powerful = []
  while (queue.length && seen.size < 20000) {
    const x = queue.shift()
    if (x === null || (typeof x !== 'object' && typeof x !== 'function') || seen.has(x)) continue
    seen.add(x)
    if (typeof x === 'function') {
      if (/^(require|spawn|spawnSync|exec|execSync|execFile|fork|writeFile|writeFileSync|dlopen|binding)$/.test(x.name)) powerful.push(x.name)
      if (tried++ < 200) { try { const p = x.constructor('return process')(); if (p) escapes++ } catch (_) {} }
    } else if (typeof x.pid === 'number' && typeof x.kill === 'function') powerful.push('a process')
    if (ArrayBuffer.isView(x)) continue
    let keys = []
    try { keys = Reflect.ownKeys(x) } catch (_) {}
    for (const k of keys.slice(0, 200)) {
      let d
      try { d = Reflect.getOwnPropertyDescriptor(x, k) } catch (_) {}
      if (d && 'value' in d) queue.push(d.value)
    }
    try { queue.push(Reflect.getPrototypeOf(x)) } catch (_) {}
  }
  bot.chat(JSON.stringify({ seen: seen.size, escapes, powerful: [...new Set(powerful)] }))
}
"""


@pytest.mark.slow
def test_walking_everything_the_program_can_reach_finds_no_power(env: MinecraftEnv) -> None:
    obs = env.step(WALK, timeout_s=30)
    assert obs["ok"], obs["error"]
    report = json.loads(obs["chat"][-1])
    assert report["seen"] > 1000, report  # it did walk the bot's object graph
    assert report["escapes"] == 0 and report["powerful"] == [], report


@pytest.mark.slow
def test_import_and_code_generation_are_refused_by_rule(env: MinecraftEnv) -> None:
    obs = env.step("async function m(bot) {\n  bot.chat('before')\n  const fs = await import('fs')\n}\n")
    assert obs["chat"] == [] and obs["error"]["line"] == 3
    assert "`import`/`import()`/`export` are not available" in obs["error"]["message"]


@pytest.mark.slow
def test_an_endless_promise_chain_is_stopped_and_node_lives_on(env: MinecraftEnv) -> None:
    pid = env.node_pid
    t0 = time.monotonic()
    obs = env.step("async function spin(bot) {\n  const next = () => Promise.resolve().then(next)\n"
                   "  next()\n  await new Promise(() => {})\n}\n")
    assert time.monotonic() - t0 < TIMEOUT_S + 3
    assert obs["error"]["type"] == "ProgramStopped" and "timed out" in obs["error"]["message"]
    assert env.node_pid == pid and not obs.get("restarted")


@pytest.mark.slow
def test_a_backtracking_regexp_falls_back_to_the_linear_engine(env: MinecraftEnv) -> None:
    pid = env.node_pid
    t0 = time.monotonic()
    obs = env.step("async function m(bot) {\n  bot.chat(String(/(a+)+$/.test('a'.repeat(40) + '!')))\n}\n")
    assert time.monotonic() - t0 < TIMEOUT_S, "the regexp ran to its exponential end"
    assert obs["ok"] and obs["chat"] == ["false"]
    assert env.node_pid == pid


@pytest.mark.slow
def test_a_regexp_no_engine_can_save_is_ended_by_the_watchdog(env: MinecraftEnv) -> None:
    pid = env.node_pid
    t0 = time.monotonic()
    # A backreference: V8's linear engine cannot run it, so it backtracks for hours.
    obs = env.step("async function m(bot) {\n  bot.chat(String(/^(a+)+\\1$/.test('a'.repeat(40) + '!')))\n}\n")
    elapsed = time.monotonic() - t0
    assert elapsed < TIMEOUT_S + STEP_GRACE_S + 15, elapsed  # watchdog, then restart and reconnect
    assert obs["error"]["type"] == "Crash" and obs["restarted"]
    assert "held the bot's Node process for more than the step's" in obs["error"]["message"]
    assert "regular expression" in obs["error"]["message"]
    assert env.node_pid != pid
    assert env.step("async function after(bot) { bot.chat('back'); }")["chat"] == ["back"]


@pytest.mark.slow
def test_a_throwing_timer_ends_the_step_with_its_line(env: MinecraftEnv) -> None:
    pid = env.node_pid
    obs = env.step("async function m(bot) {\n  setTimeout(() => {\n    throw new Error('boom in a timer')\n"
                   "  }, 10)\n  await bot.waitForTicks(20)\n  bot.chat('after')\n}\n")
    assert not obs["ok"] and "boom in a timer" in obs["error"]["message"]
    assert obs["error"]["line"] == 3 and "after" not in obs["chat"]
    assert env.node_pid == pid


@pytest.mark.slow
def test_an_unhandled_rejection_is_reported_with_the_step(env: MinecraftEnv) -> None:
    pid = env.node_pid
    obs = env.step("async function m(bot) {\n  Promise.reject(new Error('nobody awaited me'))\n"
                   "  await bot.waitForTicks(5)\n  bot.chat('went on')\n}\n")
    assert obs["ok"] and obs["chat"] == ["went on"]
    # Attributed to this step, with the program's line (not a bare message some step later).
    assert any("nobody awaited me" in e and "at line 2 of the program" in e for e in obs["background_errors"]), \
        obs.get("background_errors")
    assert env.node_pid == pid


@pytest.mark.slow
def test_a_chat_flood_is_capped(env: MinecraftEnv) -> None:
    obs = env.step("async function m(bot) {\n  for (let i = 0; i < 300; i++) bot.chat(i + ' ' + 'x'.repeat(1000))\n}\n")
    assert obs["ok"], obs["error"]
    assert len(obs["chat"]) == 101 and all(len(c) <= 256 for c in obs["chat"])
    assert obs["chat"][0].startswith("[200 earlier chat lines dropped")
    assert obs["chat"][-1].startswith("299 x")


@pytest.mark.slow
def test_the_real_bot_node_refuses_even_its_host(env: MinecraftEnv, tmp_path: Path) -> None:
    """Through JSPyBridge, as host code with the real `process`: Node's permission model holds."""
    env.observe()
    from javascript import config

    proc = config.global_jsi.globalThis.process
    for act in (lambda: proc.getBuiltinModule("fs").writeFileSync(str(tmp_path / "written"), "x"),
                lambda: proc.getBuiltinModule("child_process").execSync(f"touch {tmp_path / 'spawned'}")):
        with pytest.raises(Exception, match="ERR_ACCESS_DENIED|Access to this API has been restricted"):
            act()
    assert not (tmp_path / "written").exists() and not (tmp_path / "spawned").exists()
