'use strict'
// Shared harness for the crafting/furnace/chest integration tests: a real
// flying-squid server (default diamond_square world) with our window plugins,
// and real mineflayer bots. Not a test file itself.
const path = require('path')
const os = require('os')
const fs = require('fs')
const { once } = require('events')
const mcServer = require('flying-squid')
const mineflayer = require('mineflayer')
const { Vec3 } = require('vec3')

const VERSION = '1.21.1'

// flying-squid never clears some per-player intervals (tab list latency) and,
// unless it believes it runs under mocha, turns any uncaught error into
// process.exit(). Tests run it in-process, so: let errors fail the test, and
// remember every interval created while a server lives, to clear them at stop.
globalThis.isMocha = true
const liveIntervals = new Set()
const realSetInterval = global.setInterval
global.setInterval = function (...args) {
  const handle = realSetInterval(...args)
  liveIntervals.add(handle)
  return handle
}
// mineflayer races each wait against a 5-20 s sleep it never clears; after the
// last bot quits those would hold the test process open for 20 s
const botTimeouts = new Set()
const realSetTimeout = global.setTimeout
global.setTimeout = function (fn, ms, ...rest) {
  const handle = realSetTimeout(fn, ms, ...rest)
  if (ms >= 5000 && /node_modules[\\/]mineflayer[\\/]/.test(new Error().stack)) {
    botTimeouts.add(handle)
    if (botTimeouts.size > 1000) for (const h of botTimeouts) { if (h._destroyed) botTimeouts.delete(h) }
  }
  return handle
}
// LIFELONG_ALL_PLUGINS=1 loads every plugin of bridges/server/plugins (survival,
// mobs, ...) to check that the window plugins work alongside them.
const PLUGIN_DIR = path.join(__dirname, '..', 'server', 'plugins')
const PLUGINS = (process.env.LIFELONG_ALL_PLUGINS === '1'
  ? fs.readdirSync(PLUGIN_DIR).filter(f => f.endsWith('.js'))
  : ['crafting.js', 'furnace.js', 'chest.js'])
  .map(f => path.join(PLUGIN_DIR, f))
  .filter(f => fs.existsSync(f))

/** Starts flying-squid on `port` with our plugins; resolves when it listens. */
async function startServer (port, { worldFolder } = {}) {
  const serv = mcServer.createMCServer({
    port,
    host: '127.0.0.1',
    'online-mode': false,
    logging: false,
    noConsoleOutput: true,
    gameMode: 0,
    difficulty: 0,
    'everybody-op': true,
    'max-players': 4,
    'view-distance': 2,
    kickTimeout: 30000,
    worldFolder,
    generation: { name: 'diamond_square', options: { worldHeight: 80, seed: 7 } },
    plugins: Object.fromEntries(PLUGINS.map(p => [p, {}])),
    'player-list-text': { header: { text: 'test' }, footer: { text: 'test' } },
    version: VERSION
  })
  serv.on('error', err => { process.stderr.write(`server error: ${err?.stack ?? err}\n`) })
  await once(serv, 'listening')
  await serv.waitForReady(10000)
  return serv
}

/** Stops a server and waits for its socket to close. */
async function stopServer (serv) {
  for (const player of [...serv.players]) player._client.end('bye')
  await sleep(100)
  await serv.saveBlockEntities?.()
  await serv.overworld.saveNow?.()
  serv.stopTickInterval?.()
  await serv.destroy().catch(() => {})
  for (const player of serv.players) player._client.write = () => {}
  for (const handle of liveIntervals) clearInterval(handle)
  liveIntervals.clear()
  for (const handle of botTimeouts) clearTimeout(handle)
  botTimeouts.clear()
  // flying-squid's console (readline on stdin) would keep the test alive
  process.stdin.destroy()
}

/** Connects a bot and waits until it spawned and the server knows the player. */
async function connectBot (serv, port, username) {
  const bot = mineflayer.createBot({ host: '127.0.0.1', port, username, version: VERSION, auth: 'offline', hideErrors: true })
  bot.on('error', err => { process.stderr.write(`bot error: ${err?.stack ?? err}\n`) })
  await once(bot, 'spawn')
  for (let i = 0; i < 100 && !serverPlayer(serv, username); i++) await sleep(50)
  // let the initial inventory/chunk burst settle
  await sleep(300)
  return bot
}

function serverPlayer (serv, username) {
  return serv.players.find(p => p.username === username)
}

/** Puts items into a player's inventory server-side (like /give, without chat parsing). */
async function give (serv, bot, name, count, slot) {
  const player = serverPlayer(serv, bot.username)
  const Item = require('prismarine-item')(serv.registry)
  const item = new Item(serv.registry.itemsByName[name].id, count)
  const target = slot ?? player.inventory.firstEmptyInventorySlot()
  const seen = once(bot.inventory, `updateSlot:${target}`)
  player.inventory.updateSlot(target, item)
  await seen
}

/** Empties a player's inventory server-side. */
async function clearInventory (serv, bot) {
  const player = serverPlayer(serv, bot.username)
  for (let i = 0; i < player.inventory.slots.length; i++) {
    if (player.inventory.slots[i]) player.inventory.updateSlot(i, null)
  }
  await sleep(200)
}

/** Places a block server-side next to the bot and returns mineflayer's view of it. */
async function placeNear (serv, bot, name, offset = new Vec3(2, 0, 0)) {
  return placeAt(serv, bot, name, bot.entity.position.floored().plus(offset))
}

/** Places a block server-side at `pos` and returns mineflayer's view of it. */
async function placeAt (serv, bot, name, pos) {
  const block = serv.registry.blocksByName[name]
  const seen = waitForBlock(bot, pos, name)
  await serv.setBlock(serverPlayer(serv, bot.username).world, pos, block.defaultState)
  await seen
  return bot.blockAt(pos)
}

async function waitForBlock (bot, pos, name, timeout = 5000) {
  const end = Date.now() + timeout
  while (Date.now() < end) {
    if (bot.blockAt(pos)?.name === name) return
    await sleep(25)
  }
  throw new Error(`block ${name} never appeared at ${pos}`)
}

/** Counts items by name in the bot's inventory (mineflayer's view). */
function countOf (bot, name) {
  return bot.inventory.items().filter(i => i.name === name).reduce((n, i) => n + i.count, 0)
}

/** Counts items by name in the server's view of the player inventory (slots 9-45). */
function serverCountOf (serv, bot, name) {
  const player = serverPlayer(serv, bot.username)
  return player.inventory.slots.slice(9, 46).filter(i => i && i.name === name).reduce((n, i) => n + i.count, 0)
}

function sleep (ms) { return new Promise(resolve => realSetTimeout(resolve, ms)) }

/**
 * Waits (up to `ms`) until the bot's model of its inventory equals the
 * server's, slot by slot: clicks are pipelined, so right after a window
 * operation either side may still be catching up. Returns whether they agree.
 */
async function settle (serv, bot, ms = 3000) {
  const show = (i) => (i ? `${i.name}x${i.count}` : '-')
  const end = Date.now() + ms
  while (Date.now() < end) {
    const player = serverPlayer(serv, bot.username)
    let same = !!player
    for (let i = 0; same && i < 46; i++) same = show(bot.inventory.slots[i]) === show(player.inventory.slots[i])
    if (same) return true
    await sleep(25)
  }
  return false
}

/** Polls `fn` until it returns something truthy (or `ms` pass); returns the last value. */
async function eventually (fn, ms = 5000) {
  const end = Date.now() + ms
  let value = await fn()
  while (!value && Date.now() < end) {
    await sleep(25)
    value = await fn()
  }
  return value
}

function tempWorld (tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `lifelong-${tag}-`))
}

module.exports = { placeAt, settle, eventually, VERSION, startServer, stopServer, connectBot, serverPlayer, give, clearInventory, placeNear, waitForBlock, countOf, serverCountOf, sleep, tempWorld }
