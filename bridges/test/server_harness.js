'use strict'
// Test helpers: the embedded world run by our real launcher (a child process, as Python runs
// it), and mineflayer bots with the plugins Voyager uses.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawn } = require('child_process')
const { once } = require('events')

const LAUNCHER = path.join(__dirname, '..', 'server', 'index.js')
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Start the launcher on `port` in a fresh temp folder (or `world`); resolves when ready. */
async function startWorld ({ port, seed = 42, difficulty = 'easy', mobs = false, daylight = false, keepInventory = false, world, timeScale = 1 } = {}) {
  const dir = world ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lifelong-world-'))
  const log = path.join(dir, 'server.log')
  const args = [LAUNCHER, '--port', String(port), '--seed', String(seed), '--world', dir, '--difficulty', difficulty,
    mobs ? '--mobs' : '--no-mobs', daylight ? '--daylight-cycle' : '--no-daylight-cycle',
    keepInventory ? '--keep-inventory' : '--no-keep-inventory', '--view-distance', '4', '--time-scale', String(timeScale)]
  const offset = fs.existsSync(log) ? fs.statSync(log).size : 0
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr.on('data', d => { stderr += d })
  const readLog = () => fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(offset) : ''
  const end = Date.now() + 30000
  while (!readLog().includes('[launcher] ready on port')) {
    if (proc.exitCode !== null) throw new Error(`launcher exited ${proc.exitCode}: ${stderr}`)
    if (Date.now() > end) { proc.kill('SIGKILL'); throw new Error('launcher not ready in 30 s') }
    await sleep(100)
  }
  return {
    proc,
    dir,
    log: readLog,
    async stop ({ keep = false } = {}) {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM')
        await Promise.race([once(proc, 'exit'), sleep(20000)])
        if (proc.exitCode === null) proc.kill('SIGKILL')
      }
      if (!keep) fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A mineflayer bot with pathfinder, collectblock, tool and pvp; resolved after spawn + chunks. */
async function connectBot (port, username = 'Bot') {
  const mineflayer = require('mineflayer')
  const bot = mineflayer.createBot({ host: '127.0.0.1', port, username, version: '1.21.1', auth: 'offline', hideErrors: true })
  bot.loadPlugin(require('mineflayer-pathfinder').pathfinder)
  bot.loadPlugin(require('mineflayer-collectblock').plugin)
  bot.loadPlugin(require('mineflayer-tool').plugin)
  bot.loadPlugin(require('mineflayer-pvp').plugin)
  await once(bot, 'spawn')
  await bot.waitForChunksToLoad()
  const { Movements } = require('mineflayer-pathfinder')
  bot.pathfinder.setMovements(new Movements(bot))
  return bot
}

/** Poll `fn` until it returns a truthy value or `ms` pass. */
async function waitFor (fn, ms = 10000, step = 100) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const v = await fn()
    if (v) return v
    await sleep(step)
  }
  return null
}

/** How many items the bot holds that are named `pred` (a string) or pass `pred` (a function). */
function count (bot, pred) {
  const match = typeof pred === 'string' ? i => i.name === pred : pred
  return bot.inventory.items().filter(match).reduce((n, i) => n + i.count, 0)
}

async function quit (bot) {
  if (!bot) return
  const ended = once(bot, 'end').catch(() => {})
  bot.quit()
  await Promise.race([ended, sleep(2000)])
}

module.exports = { startWorld, connectBot, sleep, waitFor, count, quit }
