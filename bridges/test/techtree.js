'use strict'
// The acceptance scenario of the embedded world, as one function over a mineflayer bot that
// has pathfinder, collectblock, tool and pvp loaded (as Voyager's bot has). Empty inventory,
// survival mode, no commands: wood -> planks -> sticks -> crafting table -> wooden pickaxe ->
// cobblestone -> stone pickaxe -> furnace -> coal + raw iron -> smelted iron -> iron pickaxe;
// then kill a cow and pick up its beef; then a chest round trip.
//
// Used by techtree.test.js (node:test) and by tests/test_techtree.py through the Python
// `javascript` bridge, so both run exactly the same steps.

const { Vec3 } = require('vec3')

const { sleep, waitFor, count } = require('./server_harness')

function inventory (bot) {
  const out = {}
  for (const i of bot.inventory.items()) out[i.name] = (out[i.name] ?? 0) + i.count
  return out
}

async function withTimeout (promise, ms, what) {
  let timer
  const timeout = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms) })
  try { return await Promise.race([promise, timeout]) } finally { clearTimeout(timer) }
}

const SIDES = [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
function exposed (bot, pos) {
  return SIDES.some(([x, y, z]) => bot.blockAt(pos.offset(x, y, z))?.name === 'air')
}

/** Collect blocks whose name passes `match` until the inventory holds `want` more of `dropped`. */
async function mine (bot, match, dropped, want, { maxDistance = 64, preferExposed = true } = {}) {
  const start = count(bot, dropped)
  const tried = new Set()
  for (let attempt = 0; attempt < want * 4 && count(bot, dropped) - start < want; attempt++) {
    // Nearest first, but blocks touching air (seen from the surface) before buried ones.
    const cost = p => p.distanceTo(bot.entity.position) + (preferExposed && !exposed(bot, p) ? 24 : 0)
    const positions = bot.findBlocks({ matching: b => match(b.name), maxDistance, count: 128 })
      .filter(p => !tried.has(p.toString()))
      .sort((a, b) => cost(a) - cost(b))
    if (positions.length === 0) throw new Error(`no block to mine for ${dropped} within ${maxDistance}`)
    const block = bot.blockAt(positions[0])
    tried.add(positions[0].toString())
    try {
      await withTimeout(bot.collectBlock.collect(block, { ignoreNoPath: true }), 60000, `mining ${block.name}`)
    } catch (err) {
      bot.pathfinder.setGoal(null)
    }
    await sleep(300)
  }
  const got = count(bot, dropped) - start
  if (got < want) throw new Error(`mined only ${got}/${want} ${dropped}; inventory ${JSON.stringify(inventory(bot))}`)
}

async function craft (bot, name, times, table = null) {
  const item = bot.registry.itemsByName[name]
  const [recipe] = bot.recipesFor(item.id, null, 1, table)
  if (!recipe) throw new Error(`no recipe for ${name} with ${JSON.stringify(inventory(bot))}${table ? ' at a table' : ''}`)
  const before = count(bot, name)
  await withTimeout(bot.craft(recipe, times, table), 20000, `crafting ${name}`)
  if (count(bot, name) <= before) throw new Error(`crafting ${name} gave nothing`)
}

/** Place `itemName` on the ground next to the bot (clearing grass if needed); returns the block. */
async function place (bot, itemName) {
  const item = bot.inventory.items().find(i => i.name === itemName)
  if (!item) throw new Error(`no ${itemName} to place`)
  const plant = b => b && b.boundingBox === 'empty' && b.hardness === 0 && b.name !== 'air' && !b.name.includes('water')
  for (let attempt = 0; attempt < 3; attempt++) {
    const me = bot.entity.position.floored()
    const spots = []
    for (let dx = -3; dx <= 3; dx++) {
      for (let dz = -3; dz <= 3; dz++) {
        if (Math.max(Math.abs(dx), Math.abs(dz)) < 2) continue // not where the bot stands
        for (let dy = -2; dy <= 2; dy++) spots.push(me.offset(dx, dy, dz))
      }
    }
    spots.sort((a, b) => a.distanceTo(me) - b.distanceTo(me))
    for (const target of spots) {
      const below = bot.blockAt(target.offset(0, -1, 0))
      const here = bot.blockAt(target)
      const above = bot.blockAt(target.offset(0, 1, 0))
      if (!below || !here || !above || below.boundingBox !== 'block' || above.name !== 'air') continue
      if (here.name !== 'air' && !plant(here)) continue
      if (bot.entity.position.offset(0, 1.6, 0).distanceTo(target.offset(0.5, 0.5, 0.5)) > 4.5) continue
      if (plant(here)) await bot.dig(here, true).catch(() => {})
      await bot.equip(item, 'hand')
      try {
        await withTimeout(bot.placeBlock(below, new Vec3(0, 1, 0)), 5000, `placing ${itemName}`)
      } catch (err) {
        // mineflayer waits for the block update; the block may still be there
      }
      const placed = await waitFor(() => bot.blockAt(target)?.name === itemName, 3000)
      if (placed) return bot.blockAt(target)
    }
    // Nowhere here (a pit, water, a wall): walk a few blocks and look again.
    const { goals } = require('mineflayer-pathfinder')
    const away = me.offset(attempt % 2 ? -6 : 6, 0, attempt % 2 ? 6 : -6)
    await withTimeout(bot.pathfinder.goto(new goals.GoalNearXZ(away.x, away.z, 2)), 30000, 'moving to place').catch(() => {})
  }
  throw new Error(`found no spot to place ${itemName} around ${bot.entity.position.floored()}`)
}

async function smelt (bot, furnaceBlock, input, fuel, n) {
  const reg = bot.registry.itemsByName
  const furnace = await withTimeout(bot.openFurnace(furnaceBlock), 10000, 'opening the furnace')
  try {
    await furnace.putFuel(reg[fuel].id, null, 1)
    await furnace.putInput(reg[input].id, null, n)
    const done = await waitFor(() => (furnace.outputItem()?.count ?? 0) >= n, 12000 * n + 10000, 250)
    if (!done) throw new Error(`furnace made ${furnace.outputItem()?.count ?? 0}/${n}`)
    await furnace.takeOutput()
  } finally {
    furnace.close()
  }
}

/**
 * The nearest `mobName` the bot can see (view distance), walking to look for one as a player
 * would. Animals spawn in herds of one kind up to a cap per 64-block area, so the animals
 * around the bot may all be pigs and sheep: waiting, or circling the base, can wait forever.
 * Walking on in a wide curve outruns the old herds, so new ones spawn every few seconds, and
 * the bot stops as soon as it sees the mob it wants.
 */
async function findMob (bot, mobName, ms = 180000) {
  const { goals } = require('mineflayer-pathfinder')
  const seen = () => bot.nearestEntity(e => e.name === mobName)
  const end = Date.now() + ms
  for (let leg = 0; Date.now() < end && !seen(); leg++) {
    const a = leg * Math.PI / 6 // 12 legs of 48 blocks: a circle of ~90 blocks radius
    const p = bot.entity.position
    const goal = new goals.GoalXZ(Math.floor(p.x + 48 * Math.cos(a)), Math.floor(p.z + 48 * Math.sin(a)))
    let walking = true
    withTimeout(bot.pathfinder.goto(goal), Math.min(30000, Math.max(1, end - Date.now())), `walking to look for a ${mobName}`)
      .catch(() => {}).finally(() => { walking = false })
    await waitFor(() => seen() || !walking, Math.max(1, end - Date.now()), 250)
    bot.pathfinder.setGoal(null) // not stop(): its flag, left set when idle, ends the next goto at once
  }
  return seen()
}

/** Walk back to a placed block (the crafting table) from wherever the last step ended. */
async function backTo (bot, block) {
  const { goals } = require('mineflayer-pathfinder')
  const { x, y, z } = block.position
  await withTimeout(bot.pathfinder.goto(new goals.GoalNear(x, y, z, 2)), 120000, `walking back to the ${block.name}`)
}

async function killAndLoot (bot, mobName, lootName) {
  const mob = await findMob(bot, mobName)
  if (!mob) throw new Error(`no ${mobName} found within 180 s of walking around`)
  const dead = new Promise(resolve => bot.on('entityDead', e => { if (e === mob) resolve(e.position.clone()) }))
  await withTimeout(new Promise(resolve => { bot.once('stoppedAttacking', resolve); bot.pvp.attack(mob) }), 90000, `killing a ${mobName}`)
  const where = await withTimeout(dead, 2000, `${mobName} death`)
  await sleep(600)
  const drops = Object.values(bot.entities).filter(e => e.name === 'item' && e.position.distanceTo(where) < 4)
  if (drops.length) await withTimeout(bot.collectBlock.collect(drops, { ignoreNoPath: true }), 30000, 'picking up loot').catch(() => {})
  if (!await waitFor(() => count(bot, lootName) > 0, 5000)) throw new Error(`no ${lootName} picked up from the ${mobName}`)
}

async function chestRoundTrip (bot, chestBlock, itemName, n) {
  const id = bot.registry.itemsByName[itemName].id
  const before = count(bot, itemName)
  let chest = await withTimeout(bot.openContainer(chestBlock), 10000, 'opening the chest')
  await chest.deposit(id, null, n)
  chest.close()
  if (count(bot, itemName) !== before - n) throw new Error('deposit did not leave the inventory')
  await sleep(300)
  chest = await withTimeout(bot.openContainer(chestBlock), 10000, 'reopening the chest')
  const stored = chest.containerItems().filter(i => i.name === itemName).reduce((s, i) => s + i.count, 0)
  if (stored !== n) { chest.close(); throw new Error(`chest holds ${stored} ${itemName}, expected ${n}`) }
  await chest.withdraw(id, null, n)
  chest.close()
  if (count(bot, itemName) !== before) throw new Error('withdraw did not return the items')
}

/**
 * Play the whole scenario; returns { milestones: [{ step, seconds, inventory }], inventory }.
 * `log(step)` is called after each milestone (progress for long runs).
 */
async function play (bot, log = () => {}) {
  const t0 = Date.now()
  const milestones = []
  const done = step => {
    const entry = { step, seconds: Math.round((Date.now() - t0) / 100) / 10, inventory: inventory(bot) }
    milestones.push(entry)
    log(`${entry.seconds}s ${step}`)
  }
  if (bot.inventory.items().length) throw new Error(`inventory must start empty: ${JSON.stringify(inventory(bot))}`)
  const isLog = n => n.endsWith('_log') && !n.startsWith('stripped')
  const logs = () => count(bot, i => isLog(i.name))

  try {
    await mine(bot, isLog, i => isLog(i.name), 5, { preferExposed: false }) // trunks touch leaves, not air
    done('5 logs')
    // One log per bot.craft() call, as a Voyager skill would do it step by step.
    for (let guard = 0; logs() > 0 && guard < 20; guard++) {
      const item = bot.inventory.items().find(i => isLog(i.name))
      await craft(bot, item.name.replace('_log', '_planks'), 1)
    }
    if (logs() !== 0) throw new Error('logs left over after crafting planks')
    done('planks')
    await craft(bot, 'stick', 1)
    done('sticks')
    await craft(bot, 'crafting_table', 1)
    const table = await place(bot, 'crafting_table')
    done('crafting table placed')
    await craft(bot, 'wooden_pickaxe', 1, table)
    done('wooden pickaxe')
    await mine(bot, n => n === 'stone', 'cobblestone', 3)
    done('3 cobblestone')
    await craft(bot, 'stone_pickaxe', 1, table)
    done('stone pickaxe')
    await mine(bot, n => n === 'stone', 'cobblestone', 8)
    await craft(bot, 'furnace', 1, table)
    done('furnace')
    await mine(bot, n => n === 'coal_ore' || n === 'deepslate_coal_ore', 'coal', 1)
    await mine(bot, n => n === 'iron_ore' || n === 'deepslate_iron_ore', 'raw_iron', 3)
    done('coal and raw iron')
    const furnace = await place(bot, 'furnace')
    await smelt(bot, furnace, 'raw_iron', 'coal', 3)
    if (count(bot, 'iron_ingot') < 3) throw new Error('no iron ingots')
    done('3 iron ingots smelted')
    await backTo(bot, table)
    await craft(bot, 'stick', 1)
    await craft(bot, 'iron_pickaxe', 1, table)
    done('iron pickaxe')
    await killAndLoot(bot, 'cow', 'beef')
    done('cow killed, beef picked up')
    await backTo(bot, table)
    await craft(bot, 'chest', 1, table)
    const chest = await place(bot, 'chest')
    // Round-trip whatever the bot has most of (besides tools), so no extra mining is needed.
    const stock = bot.inventory.items().filter(i => !/_(pickaxe|axe|shovel|sword|hoe)$/.test(i.name))
      .sort((a, b) => b.count - a.count)[0]
    if (!stock) throw new Error('nothing to put in the chest')
    await chestRoundTrip(bot, chest, stock.name, Math.min(stock.count, 2))
    done('chest deposit + withdraw')
  } catch (err) {
    err.message = `${err.message} (after: ${milestones.map(m => m.step).join(' > ') || 'nothing'}; inventory ${JSON.stringify(inventory(bot))})`
    throw err
  }
  return { milestones, inventory: inventory(bot), seconds: (Date.now() - t0) / 1000 }
}

/** JSON string of play()'s result: what the Python bridge reads. */
async function playJson (bot) {
  return JSON.stringify(await play(bot))
}

module.exports = { play, playJson, mine, craft, place, smelt, killAndLoot, chestRoundTrip, inventory, findMob }
