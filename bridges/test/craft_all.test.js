'use strict'
// End-to-end: crafting recipes of 1.21.1 through mineflayer's unchanged
// bot.craft(), one bot, ingredients given server-side before each craft.
// By default every variant minecraft-data lists (1470; about 65 s here, 23
// crafts/s); LIFELONG_RECIPE_SAMPLE=N crafts every Kth variant, about N in all.
const test = require('node:test')
const assert = require('node:assert/strict')
const { Vec3 } = require('vec3')
const { startServer, stopServer, connectBot, serverPlayer, placeNear, sleep } = require('./windows_harness')

const PORT = 25584
const SAMPLE = Number(process.env.LIFELONG_RECIPE_SAMPLE || 0)
const ALL = !(SAMPLE > 0)

/** Sets the player's whole inventory server-side to `stacks` and waits until the bot sees it. */
async function setInventory (serv, bot, stacks) {
  const player = serverPlayer(serv, bot.username)
  const Item = require('prismarine-item')(serv.registry)
  const want = new Array(46).fill(null)
  stacks.forEach(([itemId, count], k) => { want[9 + k] = new Item(itemId, count) })
  for (let i = 0; i < 46; i++) player.inventory.updateSlot(i, want[i])
  const end = Date.now() + 5000
  while (Date.now() < end) {
    if (want.every((w, i) => (bot.inventory.slots[i]?.type ?? null) === (w?.type ?? null) && (bot.inventory.slots[i]?.count ?? 0) === (w?.count ?? 0))) return
    await sleep(10)
  }
  throw new Error('the bot never saw its new inventory')
}

/** Ingredient stacks for one craft of a prismarine-recipe Recipe (split by stack size). */
function ingredientStacks (registry, recipe) {
  const need = new Map()
  const cells = recipe.inShape ? recipe.inShape.flat() : recipe.ingredients
  for (const c of cells) if (c.id !== -1) need.set(c.id, (need.get(c.id) ?? 0) + 1)
  const stacks = []
  for (let [id, n] of need) {
    const size = registry.items[id].stackSize
    while (n > 0) { stacks.push([id, Math.min(n, size)]); n -= size }
  }
  return stacks
}

/** Slots where the bot's inventory model and the server's differ ('' if none). */
function desync (serv, bot) {
  const player = serverPlayer(serv, bot.username)
  const show = (i) => (i ? `${i.name}x${i.count}` : '-')
  const diffs = []
  for (let i = 0; i < 46; i++) {
    const a = show(bot.inventory.slots[i]); const b = show(player.inventory.slots[i])
    if (a !== b) diffs.push(`slot ${i}: bot ${a} server ${b}`)
  }
  return diffs.join('; ')
}

test(`bot.craft() makes ${ALL ? 'every' : 'a sample of the'} 1.21.1 crafting recipe(s)`, { timeout: ALL ? 1800000 : 300000 }, async (t) => {
  const serv = await startServer(PORT)
  const bot = await connectBot(serv, PORT, 'artisan')
  t.after(async () => { bot.quit(); await stopServer(serv) })
  const Recipe = require('prismarine-recipe')(bot.registry).Recipe
  const table = await placeNear(serv, bot, 'crafting_table', new Vec3(1, 0, 1))

  const variants = []
  for (const resultId of Object.keys(bot.registry.recipes)) {
    for (const recipe of Recipe.find(Number(resultId), null)) variants.push(recipe)
  }
  const step = ALL ? 1 : Math.ceil(variants.length / SAMPLE)
  const chosen = variants.filter((_, i) => i % step === 0)
  const failures = []
  const started = Date.now()
  for (const recipe of chosen) {
    const name = bot.registry.items[recipe.result.id].name
    try {
      await setInventory(serv, bot, ingredientStacks(bot.registry, recipe))
      await bot.craft(recipe, 1, recipe.requiresTable ? table : null)
      const made = bot.inventory.items().filter(i => i.type === recipe.result.id).reduce((n, i) => n + i.count, 0)
      const player = serverPlayer(serv, bot.username)
      // bot.craft() returns before the server has applied its last put-away clicks
      const serverCount = () => player.inventory.slots.slice(9, 45).filter(i => i?.type === recipe.result.id).reduce((n, i) => n + i.count, 0)
      for (let i = 0; i < 100 && serverCount() !== recipe.result.count; i++) await sleep(10)
      const onServer = serverCount()
      if (made !== recipe.result.count || onServer !== recipe.result.count) failures.push(`${name}: bot has ${made}, server has ${onServer}, want ${recipe.result.count}`)
      const leftInGrid = player.inventory.slots.slice(0, 5).filter(Boolean)
      if (leftInGrid.length) failures.push(`${name}: items left in the 2x2 grid`)
      await sleep(20)
      const diff = desync(serv, bot)
      if (diff) failures.push(`${name}: bot and server disagree: ${diff}`)
    } catch (err) {
      failures.push(`${name}: ${err.message}`)
    }
  }
  const seconds = (Date.now() - started) / 1000
  t.diagnostic(`${chosen.length} crafts in ${seconds.toFixed(1)} s (${(chosen.length / seconds).toFixed(1)} crafts/s)`)
  assert.deepEqual(failures, [], `${failures.length} of ${chosen.length} crafts failed`)
})
