'use strict'
// Survival rules through a real bot: dig-time and unbreakable checks, world + inventory kept
// across a restart, and death drops the inventory unless keepInventory is on.
const test = require('node:test')
const assert = require('node:assert/strict')
const { once } = require('events')
const { Vec3 } = require('vec3')
const { startWorld, connectBot, waitFor, count, quit, sleep } = require('./server_harness')

const PORT = 25565

/** Send start+finish digging at once, like a cheating client; resolve with the server's answer. */
async function instantDig (bot, pos) {
  const answer = new Promise(resolve => {
    const onPacket = packet => {
      if (packet.location.x === pos.x && packet.location.y === pos.y && packet.location.z === pos.z) {
        bot._client.removeListener('block_change', onPacket)
        resolve(bot.registry.blocksByStateId[packet.type].name)
      }
    }
    bot._client.on('block_change', onPacket)
    setTimeout(() => resolve(null), 3000)
  })
  let drops = 0
  const onDrop = () => { drops++ }
  bot.on('itemDrop', onDrop)
  bot._client.write('block_dig', { status: 0, location: pos, face: 1, sequence: 100 })
  bot._client.write('block_dig', { status: 2, location: pos, face: 1, sequence: 101 })
  const restored = await answer
  await sleep(800)
  bot.removeListener('itemDrop', onDrop)
  return { restored, drops }
}

test('the server refuses instant digs and unbreakable blocks', { timeout: 90000 }, async () => {
  const world = await startWorld({ port: PORT, seed: 42 })
  let bot
  try {
    bot = await connectBot(PORT)
    const stone = bot.findBlock({ matching: b => b.name === 'stone', maxDistance: 32 })
    assert.ok(stone, 'stone near spawn')
    const cheat = await instantDig(bot, stone.position)
    assert.equal(cheat.restored, 'stone', 'the stone is sent back')
    assert.equal(cheat.drops, 0)
    const bedrock = bot.findBlock({ matching: b => b.name === 'bedrock', maxDistance: 128, useExtraInfo: false }) ??
      { position: new Vec3(Math.floor(bot.entity.position.x), -16, Math.floor(bot.entity.position.z)) }
    const rock = await instantDig(bot, bedrock.position)
    assert.equal(rock.restored, 'bedrock')
    assert.deepEqual(bot.inventory.items(), [])
  } finally {
    await quit(bot)
    await world.stop()
  }
})

test('dug blocks and the inventory survive a server restart; death drops the inventory', { timeout: 150000 }, async () => {
  const world = await startWorld({ port: PORT, seed: 7 })
  let bot
  let dug
  try {
    bot = await connectBot(PORT)
    const dirt = bot.findBlock({ matching: b => b.name === 'grass_block' || b.name === 'dirt', maxDistance: 5 })
    assert.ok(dirt)
    dug = dirt.position
    await bot.collectBlock.collect(dirt)
    assert.ok(await waitFor(() => count(bot, 'dirt') >= 1, 5000), 'dirt picked up')
    assert.equal(bot.blockAt(dug).name, 'air')
    await quit(bot)
    bot = null
    await world.stop({ keep: true })

    const again = await startWorld({ port: PORT, seed: 7, world: world.dir })
    Object.assign(world, { stop: again.stop, log: again.log })
    bot = await connectBot(PORT)
    assert.equal(bot.blockAt(dug).name, 'air', 'the dug block is still gone after the restart')
    assert.ok(count(bot, 'dirt') >= 1, 'the inventory was saved')

    // keepInventory is off: dying drops everything where the bot died.
    const dropped = []
    bot.on('itemDrop', e => dropped.push(e))
    const died = once(bot, 'death')
    bot.chat('/kill Bot')
    await died
    assert.ok(await waitFor(() => dropped.length > 0, 5000), 'items dropped on death')
    assert.ok(await waitFor(() => count(bot, 'dirt') === 0, 1000), 'the inventory was emptied')
    assert.ok(await waitFor(() => bot.health === 20, 5000), 'respawned with full health')
  } finally {
    await quit(bot)
    await world.stop()
  }
})
