// Bot creation: one mineflayer bot with the plugins Voyager's programs expect
// (pathfinder, collectblock, tool, pvp). Works against the embedded flying-squid
// world and against vanilla/Paper servers: only host, port, version and auth differ.
'use strict'
const path = require('path')

const modules = path.join(__dirname, '..', 'node_modules')
const mineflayer = require(path.join(modules, 'mineflayer'))
const { pathfinder, Movements, goals } = require(path.join(modules, 'mineflayer-pathfinder'))
const collectBlock = require(path.join(modules, 'mineflayer-collectblock')).plugin
const toolPlugin = require(path.join(modules, 'mineflayer-tool')).plugin
const pvp = require(path.join(modules, 'mineflayer-pvp')).plugin
const { Vec3 } = require(path.join(modules, 'vec3'))
const { Clock, attachClock, clockOf } = require('./clock')

// The pathfinder's limits, in wall ms at time scale 1 (configure() explains each).
const THINK_TIMEOUT_MS = 10000
const TICK_TIMEOUT_MS = 20
const NODE_STUCK_MS = 3500

/**
 * Connect a bot and resolve once it has spawned with its plugins loaded.
 * Rejects with a message a user can act on (wrong port, wrong version, kicked, bad time scale).
 * `timeScale` K runs the bot's physics, digs and every game-time wait K times faster; it must
 * match the server's (only our embedded server runs faster than real time).
 * @param {{host?:string, port?:number, version?:string, auth?:string, username?:string,
 *          connectTimeoutMs?:number, viewDistance?:string|number, timeScale?:number}} opts
 */
function createBot (opts = {}) {
  const host = opts.host || '127.0.0.1'
  const port = Number(opts.port || 25565)
  let clock
  try {
    clock = new Clock(opts.timeScale ?? 1)
  } catch (err) {
    return Promise.reject(err)
  }
  const bot = mineflayer.createBot({
    timeScale: clock.scale, // our mineflayer patch: physics ticks, dig times, the wait for a placement's answer (patches/)
    host,
    port,
    version: opts.version || '1.21.1',
    auth: opts.auth || 'offline',
    username: opts.username || 'bot',
    viewDistance: opts.viewDistance || 'short',
    checkTimeoutInterval: 60 * 1000,
    logErrors: false,
    hideErrors: true
  })
  attachClock(bot, clock)
  bot.loadPlugin(pathfinder)
  bot.loadPlugin(toolPlugin)
  bot.loadPlugin(collectBlock)
  bot.loadPlugin(pvp)
  const timeoutMs = opts.connectTimeoutMs || 30000
  return new Promise((resolve, reject) => {
    const where = `${host}:${port}`
    const fail = (why) => {
      cleanup()
      try { bot.end() } catch (_) {}
      reject(new Error(`cannot connect bot to ${where}: ${why}`))
    }
    const onError = (err) => fail(err && err.code === 'ECONNREFUSED'
      ? 'connection refused (is the server running on that port?)'
      : String(err && err.message ? err.message : err))
    const onKicked = (reason) => fail(`kicked: ${typeof reason === 'string' ? reason : JSON.stringify(reason)}`)
    const onEnd = (reason) => fail(`connection closed before spawn (${reason || 'no reason'})`)
    const timer = setTimeout(() => fail(`no spawn within ${timeoutMs} ms (check version ${opts.version || '1.21.1'} and auth)`), timeoutMs)
    const onSpawn = () => {
      cleanup()
      configure(bot)
      resolve(bot)
    }
    function cleanup () {
      clearTimeout(timer)
      bot.off('error', onError)
      bot.off('kicked', onKicked)
      bot.off('end', onEnd)
      bot.off('spawn', onSpawn)
    }
    bot.once('spawn', onSpawn)
    bot.on('error', onError)
    bot.on('kicked', onKicked)
    bot.on('end', onEnd)
  })
}

/**
 * Settings Voyager uses: careful movements, no digging of the block under us while pathing to it.
 * Pathfinder limits at time scale K: thinkTimeout is a budget of computation, so it stays in wall
 * time (the same search at any K); tickTimeout is the share of each physics tick spent searching,
 * and stuckTimeout (our patch) is game time without reaching the next node: both shrink by K.
 */
function configure (bot) {
  const clock = clockOf(bot)
  const movements = new Movements(bot)
  movements.canDig = true
  movements.allowParkour = true
  movements.allowSprinting = true
  bot.pathfinder.setMovements(movements)
  bot.pathfinder.thinkTimeout = THINK_TIMEOUT_MS
  bot.pathfinder.tickTimeout = Math.max(2, clock.realMs(TICK_TIMEOUT_MS))
  bot.pathfinder.stuckTimeout = clock.realMs(NODE_STUCK_MS)
  bot.collectBlock.movements = movements
  bot.on('error', () => {}) // errors after spawn surface as 'end'; never crash the bridge
}

module.exports = { createBot, Movements, goals, Vec3, mineflayer }
