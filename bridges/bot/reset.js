// Hard reset: give the bot exactly the requested inventory and put it at a position.
// flying-squid has no /clear, so the inventory is set through creative-mode slot
// packets, which vanilla and Paper accept as well; both need the bot to be an operator
// (for /gamemode and /tp). The bot goes back to survival afterwards.
'use strict'
const path = require('path')
const modules = path.join(__dirname, '..', 'node_modules')
const { Vec3 } = require(path.join(modules, 'vec3'))

function waitFor (emitter, event, check, ms) {
  return new Promise((resolve, reject) => {
    if (check()) return resolve()
    const timer = setTimeout(() => { emitter.removeListener(event, on); reject(new Error('timeout')) }, ms)
    function on () {
      if (!check()) return
      clearTimeout(timer)
      emitter.removeListener(event, on)
      resolve()
    }
    emitter.on(event, on)
  })
}

const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))

async function setGameMode (bot, mode) {
  if (bot.game.gameMode === mode) return
  bot.chat(`/gamemode ${mode} ${bot.username}`)
  try {
    await waitFor(bot, 'game', () => bot.game.gameMode === mode, 4000)
  } catch (_) {
    throw new Error(`hard reset needs operator rights: '/gamemode ${mode}' was not applied. Make the bot an operator (/op ${bot.username}) or use a soft reset.`)
  }
}

/** Validate names first so a typo fails before the inventory is touched. */
function itemsFor (bot, inventory) {
  const stacks = []
  for (const [rawName, count] of Object.entries(inventory || {})) {
    const name = rawName.replace(/^minecraft:/, '')
    const item = bot.registry.itemsByName[name]
    if (!item) throw new Error(`hard reset: unknown item '${rawName}'${suggestion(bot, name)}`)
    let left = Number(count)
    while (left > 0) {
      const n = Math.min(left, item.stackSize || 64)
      stacks.push({ item, count: n })
      left -= n
    }
  }
  if (stacks.length > 36) throw new Error(`hard reset: ${stacks.length} stacks do not fit in 36 inventory slots`)
  return stacks
}

function suggestion (bot, name) {
  const names = Object.keys(bot.registry.itemsByName)
  const close = names.filter(n => n.includes(name) || name.includes(n)).slice(0, 3)
  return close.length ? ` (did you mean ${close.join(', ')}?)` : ''
}

/**
 * Wait 10 physics ticks where the bot landed. Mineflayer runs no tick over an unloaded chunk, and
 * after a long teleport (a resumed run going back to its saved position) on a busy server the
 * chunks take seconds to come, longer than waitForTicks' own 5 s timeout: so wait for them first.
 */
async function settle (bot, target) {
  try {
    await bot.waitForChunksToLoad()
  } catch (err) {
    throw new Error(`hard reset: the chunks around ${target.x} ${target.y} ${target.z} did not arrive (${err.message}); ` +
      'the server is overloaded: retry, or run it with a lower --time-scale')
  }
  await bot.waitForTicks(10)
}

/**
 * /tp and check it stuck: right after login the server may still send its own spawn position,
 * which would silently undo an early teleport.
 */
async function teleport (bot, target) {
  const near = () => bot.entity.position.distanceTo(target) < 1.5
  // After the wait only x/z are checked: a target in the air is fine, the bot falls from it.
  const across = () => Math.hypot(bot.entity.position.x - target.x, bot.entity.position.z - target.z) < 1.5
  for (let attempt = 0; attempt < 3; attempt++) {
    bot.chat(`/tp ${bot.username} ${target.x} ${target.y} ${target.z}`)
    const arrived = await waitFor(bot, 'forcedMove', near, 4000).then(() => true, () => false)
    await settle(bot, target)
    if (arrived && across()) return
  }
  throw new Error(`hard reset: teleport to ${target.x} ${target.y} ${target.z} was not applied (needs operator rights)`)
}

/** Does the inventory hold exactly the wanted stacks (slot -> {item, count}) and nothing else? */
function matches (bot, want) {
  for (let slot = 1; slot < bot.inventory.slots.length; slot++) { // slot 0: the crafting result
    const have = bot.inventory.slots[slot]
    const s = want.get(slot)
    if (!s ? have : (!have || have.type !== s.item.id || have.count !== s.count)) return false
  }
  return true
}

async function hardReset (bot, opts) {
  const stacks = itemsFor(bot, opts.inventory)
  const Item = require(path.join(modules, 'prismarine-item'))(bot.registry)
  await setGameMode(bot, 'creative')
  try {
    // Hotbar first (slots 36-44), then the main inventory (9-35), as a player would hold them.
    const order = [...Array(9).keys()].map(i => 36 + i).concat([...Array(27).keys()].map(i => 9 + i))
    const want = new Map(stacks.map((s, i) => [order[i], s]))
    for (let attempt = 0; attempt < 3 && !matches(bot, want); attempt++) {
      const sets = []
      for (let slot = 1; slot < bot.inventory.slots.length; slot++) {
        const s = want.get(slot)
        const item = s ? new Item(s.item.id, s.count) : null
        if (item || bot.inventory.slots[slot]) sets.push(bot.creative.setInventorySlot(slot, item).catch(() => {}))
      }
      await Promise.all(sets)
      if (!matches(bot, want)) await sleep(200) // late slot updates, then check again
    }
    if (!matches(bot, want)) throw new Error('hard reset: the server did not apply the inventory; is the bot an operator?')
    if (opts.position) await teleport(bot, new Vec3(opts.position.x, opts.position.y, opts.position.z))
  } finally {
    await setGameMode(bot, 'survival')
  }
  await sleep(100) // let the last slot updates arrive before the caller observes
}

module.exports = { hardReset }
