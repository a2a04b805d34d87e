'use strict'
// Acceptance: on a fresh seeded world, a bot with an empty inventory and no commands goes
// from logs to an iron pickaxe, kills a cow for beef and round-trips items through a chest.
const test = require('node:test')
const assert = require('node:assert/strict')
const { startWorld, connectBot, quit } = require('./server_harness')
const { play } = require('./techtree')

const PORT = 25567

test('survival tech tree: logs -> iron pickaxe, beef, chest', { timeout: 600000 }, async (t) => {
  const world = await startWorld({ port: PORT, seed: 42, mobs: true, difficulty: 'easy', daylight: false })
  let bot
  try {
    bot = await connectBot(PORT)
    assert.equal(bot.game.gameMode, 'survival')
    assert.deepEqual(bot.inventory.items(), [])
    const result = await play(bot, line => t.diagnostic(line))
    const steps = result.milestones.map(m => m.step)
    for (const step of ['5 logs', 'planks', 'sticks', 'crafting table placed', 'wooden pickaxe', '3 cobblestone',
      'stone pickaxe', 'furnace', 'coal and raw iron', '3 iron ingots smelted', 'iron pickaxe',
      'cow killed, beef picked up', 'chest deposit + withdraw']) {
      assert.ok(steps.includes(step), `missing milestone ${step}`)
    }
    assert.equal(result.inventory.iron_pickaxe, 1)
    assert.ok(result.inventory.beef >= 1)
    assert.ok(!/\/give/.test(world.log()), 'no /give was used')
  } finally {
    await quit(bot)
    await world.stop()
  }
})
