"""Embedded Minecraft server: cold start, memory with one bot, tick rate while the bot digs.

Measures our server (bridges/server: survival world generator + all plugins) and, in the same
run, plain flying-squid (its default diamond_square world, no plugins) as the peer, and prints
JSON with both and their ratios. Both at view distance 6 with one mineflayer bot that digs the
blocks around it for --dig-seconds.

    .venv/bin/python benchmarks/server_bench.py [--dig-seconds 20] [--port 25578]

Targets: cold start < 10 s (a run waits for it), RSS < 1 GB (the machine also runs the bot, Node and the LLM's embedder) with one bot at view distance 6.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifelong.minecraft.server import EmbeddedServer, bridges_dir, login_accepted

MODULES = bridges_dir() / "node_modules"

PEER_SERVER = r"""
const mcServer = require(process.env.NODE_MODULES + '/flying-squid')
const port = Number(process.argv[1])
const serv = mcServer.createMCServer({
  port, 'online-mode': false, logging: false, noConsoleOutput: true, gameMode: 0, difficulty: 1,
  'everybody-op': true, 'max-players': 10, 'view-distance': 6, kickTimeout: 30000,
  worldFolder: process.argv[2], generation: { name: 'diamond_square', options: { worldHeight: 80 } },
  plugins: {}, 'player-list-text': { header: { text: 'peer' }, footer: { text: '' } }, version: '1.21.1'
})
const ticks = []
serv.on('tick', () => { const now = Date.now(); ticks.push(now); while (ticks[0] < now - 5000) ticks.shift() })
serv.commands.add({ base: 'tps', info: 'tps', usage: '/tps',
  action () { return 'tps ' + ((ticks.length - 1) / ((ticks[ticks.length - 1] - ticks[0]) / 1000)).toFixed(2) } })
"""

BOT = r"""
const mineflayer = require(process.env.NODE_MODULES + '/mineflayer')
const [port, digSeconds] = process.argv.slice(1).map(Number)
const bot = mineflayer.createBot({ host: '127.0.0.1', port, username: 'Bench', version: '1.21.1',
  auth: 'offline', viewDistance: 6, hideErrors: true })
const out = { digs: 0, tps: null, chunks: 0, spawnSeconds: null }
const t0 = Date.now()
bot.on('chunkColumnLoad', () => { out.chunks++ })
bot.on('messagestr', m => { const r = /tps ([\d.]+)/.exec(m); if (r) out.tps = Number(r[1]) })
bot.once('spawn', async () => {
  await bot.waitForChunksToLoad()
  out.spawnSeconds = (Date.now() - t0) / 1000
  process.stdout.write('mining\n')
  const end = Date.now() + digSeconds * 1000
  let asked = false
  while (Date.now() < end) {
    if (!asked && Date.now() > end - 6000) { bot.chat('/tps'); asked = true }
    const pos = bot.findBlock({ maxDistance: 4, matching: b => ['dirt', 'grass_block', 'sand', 'short_grass'].includes(b.name) })
    if (!pos) { bot.setControlState('forward', true); await new Promise(r => setTimeout(r, 500)); bot.setControlState('forward', false); continue }
    try { await bot.dig(pos, true); out.digs++ } catch (e) { await new Promise(r => setTimeout(r, 200)) }
  }
  await new Promise(r => setTimeout(r, 500))
  process.stdout.write(JSON.stringify(out) + '\n')
  bot.quit(); setTimeout(() => process.exit(0), 300)
})
setTimeout(() => { process.stdout.write(JSON.stringify(out) + '\n'); process.exit(1) }, (digSeconds + 90) * 1000)
"""


GEN = r"""
const registry = require(process.env.NODE_MODULES + '/prismarine-registry')('1.21.1')
const ours = require(process.env.BRIDGES + '/server/worldgen.js')({ seed: 42, registry })
const peer = require(process.env.NODE_MODULES + '/diamond-square')({ seed: 42, registry, version: '1.21.1' })
function perChunk (gen) {
  gen(1000, 1000)
  const t = process.hrtime.bigint()
  for (let i = 0; i < 100; i++) gen(i % 10, Math.floor(i / 10))
  return Number(process.hrtime.bigint() - t) / 1e6 / 100
}
process.stdout.write(JSON.stringify({ ours_ms_per_chunk: perChunk(ours), peer_ms_per_chunk: perChunk(peer) }))
"""


def bench_worldgen() -> dict:
    """Chunk generation time: our survival generator vs flying-squid's diamond_square."""
    env = {**os.environ, "NODE_MODULES": str(MODULES), "BRIDGES": str(bridges_dir())}
    out = subprocess.run(["node", "-e", GEN], capture_output=True, text=True, env=env, check=True, timeout=300)
    result = {k: round(v, 2) for k, v in json.loads(out.stdout).items()}
    result["ratio_ours_over_peer"] = round(result["ours_ms_per_chunk"] / result["peer_ms_per_chunk"], 2)
    return result


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_login(port: int, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> float:
    start = time.monotonic()
    while not login_accepted("127.0.0.1", port, timeout=0.5):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("peer server exited")
        if time.monotonic() - start > timeout:
            raise RuntimeError("server not ready")
        time.sleep(0.05)
    return time.monotonic() - start


def run_bot(port: int, server_pid: int, dig_seconds: int) -> dict:
    env = {**os.environ, "NODE_MODULES": str(MODULES), "NODE_NO_WARNINGS": "1"}
    bot = subprocess.Popen(["node", "-e", BOT, str(port), str(dig_seconds)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, env=env)
    peak = 0.0
    assert bot.stdout is not None
    first = bot.stdout.readline()  # "mining" once chunks are loaded
    after_chunks = rss_mb(server_pid)
    while bot.poll() is None:
        peak = max(peak, rss_mb(server_pid))
        time.sleep(0.5)
    rest = bot.stdout.read().strip().splitlines()
    result = json.loads(rest[-1]) if rest else {}
    result.update(rss_after_chunks_mb=round(after_chunks, 1), rss_peak_mb=round(peak, 1), ok=first.strip() == "mining")
    return result


def bench_ours(port: int, dig_seconds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(world_dir=Path(tmp) / "world", port=port, seed=42, view_distance=6,
                                daylight_cycle=False)
        t = time.monotonic()
        status = server.start(detach=True)
        cold = time.monotonic() - t
        try:
            idle = rss_mb(status.pid)
            result = run_bot(port, status.pid, dig_seconds)
        finally:
            server.stop()
    return {"cold_start_s": round(cold, 2), "rss_idle_mb": round(idle, 1), **result}


def bench_peer(port: int, dig_seconds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NODE_MODULES": str(MODULES)}
        t = time.monotonic()
        proc = subprocess.Popen(["node", "-e", PEER_SERVER, str(port), tmp], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            wait_login(port, proc)
            cold = time.monotonic() - t
            idle = rss_mb(proc.pid)
            result = run_bot(port, proc.pid, dig_seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return {"cold_start_s": round(cold, 2), "rss_idle_mb": round(idle, 1), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dig-seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=25578)
    args = parser.parse_args()
    ours = bench_ours(args.port, args.dig_seconds)
    peer = bench_peer(args.port + 1, args.dig_seconds)

    def ratio(key: str) -> float | None:
        a, b = ours.get(key), peer.get(key)
        return round(a / b, 2) if a and b else None

    report = {
        "worldgen": bench_worldgen(),
        "ours": ours,
        "peer_plain_flying_squid": peer,
        "ratio_ours_over_peer": {k: ratio(k) for k in ("cold_start_s", "rss_idle_mb", "rss_peak_mb", "tps", "digs")},
        "targets": {"cold_start_under_10s": ours["cold_start_s"] < 10, "rss_under_1gb": ours.get("rss_peak_mb", 0) < 1024},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
