'use strict'
// Integration tests: chests with a real mineflayer bot (place, openContainer,
// deposit, withdraw) and persistence of their contents across a restart.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { Vec3 } = require('vec3')
const { serverPlayer, settle, eventually, startServer, stopServer, connectBot, give, clearInventory, placeAt, countOf, serverCountOf, waitForBlock, sleep, tempWorld } = require('./windows_harness')

const PORT = 25582
const PORT_AFTER_RESTART = 25583

test('chests (and furnaces): deposit, withdraw, persist across a restart', { timeout: 180000 }, async (t) => {
  const world = tempWorld('chest')
  t.after(() => fs.rmSync(world, { recursive: true, force: true }))
  let serv = await startServer(PORT, { worldFolder: world })
  let bot = await connectBot(serv, PORT, 'keeper')
  const id = (name) => bot.registry.itemsByName[name].id
  let chestPos
  let furnacePos

  try {
    await t.test('the bot places a chest, deposits and withdraws', async () => {
      await clearInventory(serv, bot)
      await give(serv, bot, 'chest', 1, 36)
      await give(serv, bot, 'cobblestone', 40)
      await give(serv, bot, 'oak_log', 5)
      bot.setQuickBarSlot(0)
      await settle(serv, bot)
      // place it on solid ground with air above, two blocks from the bot
      for (let i = 0; i < 60 && !bot.entity.onGround; i++) await sleep(50)
      const feet = bot.entity.position.floored()
      const ground = [[2, 0], [-2, 0], [0, 2], [0, -2], [2, 2]]
        .map(([dx, dz]) => bot.blockAt(feet.offset(dx, -1, dz)))
        .find(b => b && b.boundingBox === 'block' && bot.blockAt(b.position.offset(0, 1, 0))?.name === 'air')
      assert.ok(ground, 'solid ground next to the bot')
      chestPos = ground.position.offset(0, 1, 0)
      await bot.placeBlock(ground, new Vec3(0, 1, 0)).catch((err) => t.diagnostic(`placeBlock: ${err.message}`))
      await waitForBlock(bot, chestPos, 'chest')
      assert.equal(countOf(bot, 'chest'), 0)

      const chest = await bot.openContainer(bot.blockAt(chestPos))
      assert.equal(chest.type, 'minecraft:generic_9x3')
      await chest.deposit(id('cobblestone'), null, 30)
      await chest.deposit(id('oak_log'), null, 5)
      assert.equal(chest.containerCount(id('cobblestone')), 30)
      await chest.withdraw(id('cobblestone'), null, 12)
      assert.equal(chest.containerCount(id('cobblestone')), 18)
      chest.close()
      await settle(serv, bot)
      assert.equal(countOf(bot, 'cobblestone'), 22)
      assert.equal(serverCountOf(serv, bot, 'cobblestone'), 22)
      assert.equal(serverCountOf(serv, bot, 'oak_log'), 0)

      // a second look shows the same contents (kept server-side)
      const again = await bot.openContainer(bot.blockAt(chestPos))
      assert.equal(again.containerCount(id('cobblestone')), 18)
      assert.equal(again.containerCount(id('oak_log')), 5)
      // shift-click a stack out of the chest
      const logs = again.containerItems().find(i => i.name === 'oak_log')
      await bot.clickWindow(logs.slot, 0, 1)
      await settle(serv, bot)
      again.close()
      await settle(serv, bot)
      assert.equal(serverCountOf(serv, bot, 'oak_log'), 5)
      assert.equal(countOf(bot, 'oak_log'), 5)
    })

    await t.test('contents are saved to the world folder soon after a change', async () => {
      await sleep(1500)
      const saved = JSON.parse(fs.readFileSync(path.join(world, 'lifelong_block_entities.json'), 'utf8'))
      const records = Object.values(saved.chest)
      assert.equal(records.length, 1)
      assert.deepEqual(records[0].map(r => [r.name, r.count]), [['cobblestone', 18]])
    })

    await t.test('a loaded furnace before the restart', async () => {
      await give(serv, bot, 'coal', 1)
      await give(serv, bot, 'raw_iron', 3)
      const block = await placeAt(serv, bot, 'furnace', chestPos.offset(0, 0, 3))
      furnacePos = block.position
      const furnace = await bot.openFurnace(block)
      await furnace.putFuel(id('coal'), null, 1)
      await furnace.putInput(id('raw_iron'), null, 3)
      furnace.close()
      await settle(serv, bot)
    })

    await t.test('contents survive a server restart', async () => {
      const beforeRestart = bot.entity.position.clone()
      bot.quit()
      await stopServer(serv)
      serv = await startServer(PORT_AFTER_RESTART, { worldFolder: world })
      bot = await connectBot(serv, PORT_AFTER_RESTART, 'keeper')
      // flying-squid may spawn the player elsewhere: come back to the chest
      if (bot.entity.position.distanceTo(chestPos) > 8) {
        await serverPlayer(serv, bot.username).teleport(beforeRestart)
        await eventually(() => bot.entity.position.distanceTo(beforeRestart) < 2)
      }
      const onServer = (await serv.overworld.getBlock(chestPos)).name
      assert.equal(onServer, 'chest', 'the placed chest was saved with the world')
      await waitForBlock(bot, chestPos, 'chest')
      const chest = await bot.openContainer(bot.blockAt(chestPos))
      assert.equal(chest.containerCount(id('cobblestone')), 18)
      await chest.withdraw(id('cobblestone'), null, 18)
      chest.close()
      await settle(serv, bot)
      assert.equal(countOf(bot, 'cobblestone'), 22 + 18)
      // the furnace kept its items and burns on after the restart
      const furnace = await bot.openFurnace(bot.blockAt(furnacePos))
      const input = furnace.inputItem()?.count ?? 0
      const output = furnace.outputItem()?.count ?? 0
      assert.equal(input + output, 3, `raw iron ${input} + ingots ${output}`)
      assert.equal(furnace.fuelItem(), null, 'the coal was burning')
      for (let i = 0; i < 40 && !(furnace.totalFuel && furnace.fuel); i++) await sleep(50)
      assert.ok(furnace.totalFuel === 1600 && furnace.fuel > 0, `still burning after the restart: ${furnace.totalFuel} ${furnace.fuel} ${furnace.progress} in ${input} out ${output}`)
      furnace.close()
    })

    await t.test('breaking the chest drops what it held and forgets it', async () => {
      await clearInventory(serv, bot)
      await give(serv, bot, 'diamond', 3)
      const chest = await bot.openContainer(bot.blockAt(chestPos))
      await chest.deposit(id('diamond'), null, 3)
      chest.close()
      await eventually(() => serverCountOf(serv, bot, 'diamond') === 0)
      assert.equal(serverCountOf(serv, bot, 'diamond'), 0)
      await bot.dig(bot.blockAt(chestPos), true)
      let drops = []
      for (let i = 0; i < 40 && !drops.includes('diamondx3'); i++) {
        await sleep(50)
        drops = Object.values(serv.entities).filter(e => e.itemId !== undefined).map(e => `${serv.registry.items[e.itemId].name}x${e.itemCount}`)
      }
      assert.ok(drops.includes('diamondx3'), `the diamonds were dropped as item entities: ${drops}`)
      assert.equal((await serv.overworld.getBlock(chestPos)).name, 'air')
      await serv.saveBlockEntities()
      const saved = JSON.parse(fs.readFileSync(path.join(world, 'lifelong_block_entities.json'), 'utf8'))
      assert.deepEqual(saved.chest, {})
    })
    await t.test('a chest placed where a vanished one stood starts empty', async () => {
      const spot = chestPos.offset(0, 0, -3)
      const world = serverPlayer(serv, bot.username).world
      await serv.setBlock(world, spot.offset(0, -1, 0), serv.registry.blocksByName.stone.defaultState)
      await clearInventory(serv, bot)
      await give(serv, bot, 'cobblestone', 5)
      const old = await placeAt(serv, bot, 'chest', spot)
      let chest = await bot.openContainer(old)
      await chest.deposit(id('cobblestone'), null, 5)
      chest.close()
      await eventually(() => serverCountOf(serv, bot, 'cobblestone') === 0)
      await serv.setBlock(world, spot, 0) // gone without being dug: no drops, no event
      await waitForBlock(bot, spot, 'air')
      await give(serv, bot, 'chest', 1, 36)
      bot.setQuickBarSlot(0)
      await bot.placeBlock(bot.blockAt(spot.offset(0, -1, 0)), new Vec3(0, 1, 0)).catch((err) => t.diagnostic(`placeBlock: ${err.message}`))
      await waitForBlock(bot, spot, 'chest')
      chest = await bot.openContainer(bot.blockAt(spot))
      assert.deepEqual(chest.containerItems(), [])
      chest.close()
    })
  } finally {
    bot.quit()
    await stopServer(serv)
  }
})
