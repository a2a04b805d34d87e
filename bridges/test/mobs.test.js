'use strict'
// Mobs plugin: loot tables, weapon damage, and a real bot killing a cow and a zombie (pvp).
const test = require('node:test')
const assert = require('node:assert/strict')
const { lootFor, weaponDamage, isNight } = require('../server/plugins/mobs')
const { startWorld, connectBot, waitFor, count, quit } = require('./server_harness')

const PORT = 25568

test('loot tables and weapon damage follow vanilla', () => {
  const names = mob => lootFor(mob, () => 0.999).map(d => d.name).sort()
  assert.deepEqual(names('cow'), ['beef', 'leather'])
  assert.deepEqual(names('pig'), ['porkchop'])
  assert.deepEqual(names('sheep'), ['mutton', 'white_wool'])
  assert.deepEqual(names('chicken'), ['chicken', 'feather'])
  assert.deepEqual(names('zombie'), ['rotten_flesh'])
  assert.deepEqual(names('skeleton'), ['arrow', 'bone'])
  assert.ok(lootFor('cow', () => 0).some(d => d.name === 'beef'), 'a cow always drops beef')
  assert.equal(weaponDamage(null), 1)
  assert.ok(weaponDamage('iron_sword') > weaponDamage('stone_sword') && weaponDamage('stone_sword') > weaponDamage('wooden_sword'))
  assert.ok(isNight(18000) && !isNight(6000) && isNight(18000 + 24000))
})

test('a bot kills a cow and a zombie with mineflayer-pvp and picks up the drops', { timeout: 120000 }, async () => {
  const world = await startWorld({ port: PORT, seed: 42, mobs: false })
  const bot = await connectBot(PORT)
  try {
    bot.chat('/spawnmob cow 1')
    const cow = await waitFor(() => bot.nearestEntity(e => e.name === 'cow'))
    assert.ok(cow, 'cow spawned')
    const dead = []
    bot.on('entityDead', e => dead.push(e.name))
    await new Promise(resolve => { bot.once('stoppedAttacking', resolve); bot.pvp.attack(cow) })
    assert.ok(dead.includes('cow'), 'cow died')
    const beef = await waitFor(() => Object.values(bot.entities).filter(e => e.name === 'item'), 3000)
    await bot.collectBlock.collect(beef).catch(() => {})
    assert.ok(await waitFor(() => count(bot, 'beef') >= 1, 5000), `beef picked up: ${bot.inventory.items().map(i => i.name)}`)

    // Night + a zombie: it attacks the bot, takes sword damage and dies after 4 hits.
    bot.chat('/time set 18000')
    bot.chat('/give Bot stone_sword 1')
    await waitFor(() => count(bot, 'stone_sword') === 1)
    await bot.equip(bot.inventory.items().find(i => i.name === 'stone_sword'), 'hand')
    bot.chat('/spawnmob zombie 1')
    const zombie = await waitFor(() => bot.nearestEntity(e => e.name === 'zombie'))
    assert.ok(zombie, 'zombie spawned')
    let hurts = 0
    bot.on('entityHurt', e => { if (e === zombie) hurts++ })
    await new Promise(resolve => { bot.once('stoppedAttacking', resolve); bot.pvp.attack(zombie) })
    assert.ok(dead.includes('zombie'), 'zombie died')
    assert.ok(hurts >= 3 && hurts <= 5, `stone sword (5) kills a 20 hp zombie in 4 hits, took ${hurts}`)
    assert.ok(await waitFor(() => !bot.entities[zombie.id], 3000), 'the dead zombie is removed')
  } finally {
    await quit(bot)
    await world.stop()
  }
})

test('findMob walks out of an area whose animal cap pigs fill, and finds a cow', { timeout: 240000 }, async () => {
  const { findMob } = require('./techtree')
  const world = await startWorld({ port: PORT, seed: 42, mobs: false })
  const bot = await connectBot(PORT)
  try {
    bot.chat('/spawnmob pig 10')
    assert.ok(await waitFor(() => Object.values(bot.entities).filter(e => e.name === 'pig').length >= 10), 'ten pigs fill the cap')
    bot.chat('/gamerule doMobSpawning true')
    const cow = await findMob(bot, 'cow', 180000)
    assert.ok(cow, 'a cow was found')
    assert.equal(cow.name, 'cow')
  } finally {
    await quit(bot)
    await world.stop()
  }
})
