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

/**
 * Connect a bot and resolve once it has spawned with its plugins loaded.
 * Rejects with a message a user can act on (wrong port, wrong version, kicked).
 * @param {{host?:string, port?:number, version?:string, auth?:string, username?:string,
 *          connectTimeoutMs?:number, viewDistance?:string|number}} opts
 */
function createBot (opts = {}) {
  const host = opts.host || '127.0.0.1'
  const port = Number(opts.port || 25565)
  const bot = mineflayer.createBot({
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

/** Settings Voyager uses: careful movements, no digging of the block under us while pathing to it. */
function configure (bot) {
  const movements = new Movements(bot)
  movements.canDig = true
  movements.allowParkour = true
  movements.allowSprinting = true
  bot.pathfinder.setMovements(movements)
  bot.pathfinder.thinkTimeout = 10000
  bot.pathfinder.tickTimeout = 20
  bot.collectBlock.movements = movements
  bot.on('error', () => {}) // errors after spawn surface as 'end'; never crash the bridge
}

module.exports = { createBot, Movements, goals, Vec3, mineflayer }
