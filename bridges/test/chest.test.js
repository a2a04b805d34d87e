'use strict'
// Integration tests: chests with a real mineflayer bot (place, openContainer,
// deposit, withdraw) and persistence of their contents across a restart.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { Vec3 } = require('vec3')
const { startServer, stopServer, connectBot, give, clearInventory, countOf, serverCountOf, waitForBlock, sleep, tempWorld } = require('./windows_harness')

const PORT = 25582
const PORT_AFTER_RESTART = 25583

test('chests: deposit, withdraw, persist across a restart', { timeout: 180000 }, async (t) => {
  const world = tempWorld('chest')
  t.after(() => fs.rmSync(world, { recursive: true, force: true }))
  let serv = await startServer(PORT, { worldFolder: world })
  let bot = await connectBot(serv, PORT, 'keeper')
  const id = (name) => bot.registry.itemsByName[name].id
  let chestPos

  try {
    await t.test('the bot places a chest, deposits and withdraws', async () => {
      await clearInventory(serv, bot)
      await give(serv, bot, 'chest', 1, 36)
      await give(serv, bot, 'cobblestone', 40)
      await give(serv, bot, 'oak_log', 5)
      bot.setQuickBarSlot(0)
      await sleep(200)
      // place on top of the ground two blocks east of the bot
      const ground = bot.blockAt(bot.entity.position.floored().offset(2, -1, 0))
      chestPos = ground.position.offset(0, 1, 0)
      await bot.placeBlock(ground, new Vec3(0, 1, 0)).catch(() => {}) // flying-squid sends no sound/ack mineflayer might wait on
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
      await sleep(300)
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
      await sleep(300)
      again.close()
      await sleep(300)
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

    await t.test('contents survive a server restart', async () => {
      bot.quit()
      await stopServer(serv)
      serv = await startServer(PORT_AFTER_RESTART, { worldFolder: world })
      bot = await connectBot(serv, PORT_AFTER_RESTART, 'keeper')
      await waitForBlock(bot, chestPos, 'chest')
      const chest = await bot.openContainer(bot.blockAt(chestPos))
      assert.equal(chest.containerCount(id('cobblestone')), 18)
      await chest.withdraw(id('cobblestone'), null, 18)
      chest.close()
      await sleep(300)
      assert.equal(countOf(bot, 'cobblestone'), 22 + 18)
    })

    await t.test('breaking the chest drops what it held and forgets it', async () => {
      await clearInventory(serv, bot)
      const chest = await bot.openContainer(bot.blockAt(chestPos))
      await give(serv, bot, 'diamond', 3)
      await sleep(200)
      await chest.deposit(id('diamond'), null, 3)
      chest.close()
      bot._client.write('block_dig', { status: 0, location: chestPos, face: 1, sequence: 1 })
      bot._client.write('block_dig', { status: 2, location: chestPos, face: 1, sequence: 2 })
      await sleep(600)
      const drops = Object.values(serv.entities).filter(e => e.itemId !== undefined).map(e => `${serv.registry.items[e.itemId].name}x${e.itemCount}`)
      assert.ok(drops.includes('diamondx3'), `the diamonds were dropped as item entities: ${drops}`)
      assert.equal((await serv.overworld.getBlock(chestPos)).name, 'air')
      await serv.saveBlockEntities()
      const saved = JSON.parse(fs.readFileSync(path.join(world, 'lifelong_block_entities.json'), 'utf8'))
      assert.deepEqual(saved.chest, {})
    })
  } finally {
    bot.quit()
    await stopServer(serv)
  }
})
