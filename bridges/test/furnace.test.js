'use strict'
// Integration tests: smelting with a real mineflayer bot (bot.openFurnace)
// against flying-squid with our furnace plugin.
const test = require('node:test')
const assert = require('node:assert/strict')
const { serverPlayer, settle, eventually, startServer, stopServer, connectBot, give, clearInventory, placeNear, countOf, serverCountOf, sleep } = require('./windows_harness')
const { Vec3 } = require('vec3')
const { blockKey } = require('../server/lib/blockEntities')

const PORT = 25581

/** Resolves when `predicate(furnace)` holds after some window update, or rejects after `ms`. */
async function until (furnace, predicate, ms) {
  const end = Date.now() + ms
  while (!predicate(furnace)) {
    if (Date.now() > end) throw new Error('furnace condition not reached in time')
    await sleep(100)
  }
}

test('smelting through bot.openFurnace()', { timeout: 180000 }, async (t) => {
  const serv = await startServer(PORT)
  const bot = await connectBot(serv, PORT, 'smelter')
  t.after(async () => { bot.quit(); await stopServer(serv) })
  const id = (name) => bot.registry.itemsByName[name].id

  await t.test('raw iron + coal -> iron ingot, with progress reported', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'coal', 2)
    await give(serv, bot, 'raw_iron', 1)
    const block = await placeNear(serv, bot, 'furnace')
    const furnace = await bot.openFurnace(block)
    assert.equal(furnace.type, 'minecraft:furnace')
    await furnace.putFuel(id('coal'), null, 1)
    await furnace.putInput(id('raw_iron'), null, 1)
    const progress = []
    furnace.on('update', () => progress.push(furnace.progress))
    bot._client.on('craft_progress_bar', (p) => { if (process.env.DEBUG_FURNACE) console.log(p) })
    await until(furnace, f => f.outputItem(), 20000) // 200 ticks = 10 s at 20 ticks/s
    assert.equal(furnace.outputItem().name, 'iron_ingot')
    assert.ok(progress.some(p => p > 0.2 && p < 0.9), `saw progress between 0 and 1: ${progress.slice(0, 5)}...`)
    assert.equal(furnace.totalProgress, 200)
    assert.equal(furnace.totalFuel, 1600)
    assert.ok(furnace.fuel > 0.8 && furnace.fuel < 1)
    assert.equal(bot.blockAt(block.position).getProperties().lit, true, 'the block shows it burns')
    await furnace.takeOutput()
    furnace.close()
    await settle(serv, bot)
    assert.equal(countOf(bot, 'iron_ingot'), 1)
    assert.equal(serverCountOf(serv, bot, 'iron_ingot'), 1)
    assert.equal(serverCountOf(serv, bot, 'coal'), 1)
  })

  await t.test('the furnace keeps smelting with its window closed', async (st) => {
    serv.setTickInterval(200) // 10x speed: 200 ticks take 1 s
    st.after(() => serv.setTickInterval(20))
    await clearInventory(serv, bot)
    await give(serv, bot, 'oak_planks', 2)
    await give(serv, bot, 'sand', 3)
    const block = await placeNear(serv, bot, 'furnace', new Vec3(-2, 0, 0))
    let furnace = await bot.openFurnace(block)
    await furnace.putFuel(id('oak_planks'), null, 2) // 600 ticks: 3 items
    await furnace.putInput(id('sand'), null, 3)
    furnace.close()
    const state = serv._lifelongFurnaces.furnace.furnaceAt(blockKey('overworld', block.position)).state
    await eventually(() => state.output?.count === 3, 15000)
    furnace = await bot.openFurnace(block)
    assert.equal(furnace.outputItem()?.name, 'glass')
    assert.equal(furnace.outputItem()?.count, 3)
    assert.equal(furnace.inputItem(), null)
    assert.equal(furnace.fuelItem(), null)
    // shift-click the output into the inventory
    await bot.clickWindow(2, 0, 1)
    await settle(serv, bot)
    furnace.close()
    await settle(serv, bot)
    assert.equal(countOf(bot, 'glass'), 3)
    assert.equal(serverCountOf(serv, bot, 'glass'), 3)
  })

  await t.test('a smoker cooks food in half the time', async (st) => {
    serv.setTickInterval(200)
    st.after(() => serv.setTickInterval(20))
    await clearInventory(serv, bot)
    await give(serv, bot, 'coal', 1)
    await give(serv, bot, 'beef', 2)
    const block = await placeNear(serv, bot, 'smoker', new Vec3(0, 0, -2))
    const smoker = await bot.openFurnace(block)
    assert.equal(smoker.type, 'minecraft:smoker')
    await smoker.putFuel(id('coal'), null, 1)
    await smoker.putInput(id('beef'), null, 2)
    await until(smoker, f => f.outputItem()?.count === 2, 5000)
    assert.equal(smoker.outputItem().name, 'cooked_beef')
    assert.equal(smoker.totalProgress, 100)
    await smoker.takeOutput()
    smoker.close()
    await settle(serv, bot)
    assert.equal(serverCountOf(serv, bot, 'cooked_beef'), 2)
  })

  await t.test('a furnace removed without digging is forgotten', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'coal', 1)
    await give(serv, bot, 'raw_iron', 5)
    const block = await placeNear(serv, bot, 'furnace', new Vec3(2, 0, 2))
    const furnace = await bot.openFurnace(block)
    await furnace.putFuel(id('coal'), null, 1)
    await furnace.putInput(id('raw_iron'), null, 5)
    furnace.close()
    const kind = serv._lifelongFurnaces.furnace
    const key = blockKey('overworld', block.position)
    await eventually(() => kind.furnaceAt(key).state.input?.count === 5)
    assert.equal(kind.furnaceAt(key).state.input?.count, 5)
    await serv.setBlock(serverPlayer(serv, bot.username).world, block.position, 0)
    await eventually(() => kind.furnaceAt(key).state.input === null, 3000)
    assert.equal(kind.furnaceAt(key).state.input, null, 'a fresh, empty furnace state')
  })

  await t.test('only fuels go into the fuel slot', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'dirt', 1)
    const block = await placeNear(serv, bot, 'furnace', new Vec3(0, 0, 2))
    const furnace = await bot.openFurnace(block)
    await furnace.putFuel(id('dirt'), null, 1)
    await eventually(() => furnace.fuelItem() === null)
    assert.equal(furnace.fuelItem(), null, 'the server refused dirt and corrected the bot')
    furnace.close()
    await eventually(() => countOf(bot, 'dirt') === 1 && serverCountOf(serv, bot, 'dirt') === 1)
    assert.equal(countOf(bot, 'dirt'), 1, 'the refused dirt is back in the inventory')
    assert.equal(serverCountOf(serv, bot, 'dirt'), 1)
  })
})
