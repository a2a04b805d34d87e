'use strict'
// Integration tests: crafting with a real mineflayer bot (unchanged bot.craft)
// against flying-squid with our crafting plugin.
const test = require('node:test')
const assert = require('node:assert/strict')
const { settle, eventually, startServer, stopServer, connectBot, give, clearInventory, placeNear, countOf, serverCountOf, serverPlayer, sleep } = require('./windows_harness')

const PORT = 25580

test('crafting through bot.craft()', { timeout: 180000 }, async (t) => {
  const serv = await startServer(PORT)
  const bot = await connectBot(serv, PORT, 'crafter')
  t.after(async () => { bot.quit(); await stopServer(serv) })
  const id = (name) => bot.registry.itemsByName[name].id

  await t.test('2x2 grid: log -> planks -> sticks -> crafting table', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'oak_log', 3)
    const [planks] = bot.recipesFor(id('oak_planks'), null, 1, null)
    assert.ok(planks, 'mineflayer finds the planks recipe')
    await bot.craft(planks, 3, null)
    assert.equal(countOf(bot, 'oak_planks'), 12)
    assert.equal(countOf(bot, 'oak_log'), 0)

    const [sticks] = bot.recipesFor(id('stick'), null, 1, null)
    await bot.craft(sticks, 1, null)
    assert.equal(countOf(bot, 'stick'), 4)
    assert.equal(countOf(bot, 'oak_planks'), 10)

    const [table] = bot.recipesFor(id('crafting_table'), null, 1, null)
    await bot.craft(table, 1, null)
    assert.equal(countOf(bot, 'crafting_table'), 1)
    assert.equal(countOf(bot, 'oak_planks'), 6)
    // the server agrees with the bot, and the grid is empty
    await settle(serv, bot)
    for (const name of ['oak_planks', 'stick', 'crafting_table']) assert.equal(serverCountOf(serv, bot, name), countOf(bot, name), name)
    const player = serverPlayer(serv, bot.username)
    assert.deepEqual(player.inventory.slots.slice(0, 5).map(i => i?.name ?? null), [null, null, null, null, null])
  })

  await t.test('3x3 crafting table: wooden pickaxe', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'birch_planks', 3)
    await give(serv, bot, 'stick', 2)
    const table = await placeNear(serv, bot, 'crafting_table')
    const [pickaxe] = bot.recipesFor(id('wooden_pickaxe'), null, 1, table)
    assert.ok(pickaxe, 'mineflayer finds the pickaxe recipe with a table')
    await bot.craft(pickaxe, 1, table)
    assert.equal(countOf(bot, 'wooden_pickaxe'), 1)
    assert.equal(countOf(bot, 'birch_planks'), 0)
    assert.equal(countOf(bot, 'stick'), 0)
    await settle(serv, bot)
    assert.equal(serverCountOf(serv, bot, 'wooden_pickaxe'), 1)
  })

  await t.test('crafting table, several at once: 2 chests in one bot.craft() call', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'oak_planks', 20)
    const table = bot.findBlock({ matching: bot.registry.blocksByName.crafting_table.id, maxDistance: 6 })
    const [chest] = bot.recipesFor(id('chest'), null, 1, table)
    await bot.craft(chest, 2, table)
    assert.equal(countOf(bot, 'chest'), 2)
    assert.equal(countOf(bot, 'oak_planks'), 4)
    await settle(serv, bot)
    assert.equal(serverCountOf(serv, bot, 'chest'), 2)
    assert.equal(serverCountOf(serv, bot, 'oak_planks'), 4)
  })

  await t.test('mixed plank types (ingredient tags) make a crafting table by hand clicks', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'oak_planks', 2, 36)
    await give(serv, bot, 'spruce_planks', 2, 37)
    const resultSeen = () => new Promise(resolve => bot.inventory.once('updateSlot:0', (o, n) => resolve(n)))
    await bot.clickWindow(36, 0, 0) // pick up 2 oak planks
    await bot.clickWindow(1, 1, 0)
    await bot.clickWindow(2, 1, 0)
    await bot.clickWindow(36, 0, 0) // put the rest back
    await bot.clickWindow(37, 0, 0)
    await bot.clickWindow(3, 1, 0)
    const shown = resultSeen()
    await bot.clickWindow(4, 1, 0)
    assert.equal((await shown)?.name, 'crafting_table')
    await bot.clickWindow(37, 0, 0)
    // take the result: the grid is consumed
    await bot.clickWindow(0, 0, 0)
    assert.equal(bot.inventory.selectedItem?.name, 'crafting_table')
    await bot.putSelectedItemRange(9, 45, bot.inventory, null)
    await settle(serv, bot)
    assert.equal(countOf(bot, 'crafting_table'), 1)
    assert.equal(serverCountOf(serv, bot, 'crafting_table'), 1)
    assert.equal(serverCountOf(serv, bot, 'oak_planks') + serverCountOf(serv, bot, 'spruce_planks'), 0)
  })

  await t.test('shift-click on the result crafts everything into the inventory', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'oak_planks', 10, 36)
    // 5 planks in each of two stacked grid slots: sticks x4 per craft, 5 crafts
    await bot.clickWindow(36, 0, 0)
    for (let i = 0; i < 5; i++) { await bot.clickWindow(1, 1, 0); await bot.clickWindow(3, 1, 0) }
    assert.equal(bot.inventory.selectedItem, null)
    await bot.clickWindow(0, 0, 1) // shift-click the result
    await settle(serv, bot)
    assert.equal(serverCountOf(serv, bot, 'stick'), 20)
    assert.equal(countOf(bot, 'stick'), 20)
    const player = serverPlayer(serv, bot.username)
    assert.equal(player.inventory.slots[1], null)
    assert.equal(player.inventory.slots[3], null)
    assert.equal(player.inventory.slots[0], null)
  })

  await t.test('closing the inventory returns grid items', async () => {
    await clearInventory(serv, bot)
    await give(serv, bot, 'cobblestone', 3, 36)
    await bot.clickWindow(36, 0, 0)
    await bot.clickWindow(1, 1, 0)
    await bot.clickWindow(36, 0, 0)
    bot._client.write('close_window', { windowId: 0 })
    await eventually(() => serverCountOf(serv, bot, 'cobblestone') === 3)
    assert.equal(serverCountOf(serv, bot, 'cobblestone'), 3)
    assert.equal(serverPlayer(serv, bot.username).inventory.slots[1], null)
  })
})
