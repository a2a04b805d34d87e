'use strict'
// Time scale K: the clock's arithmetic, a program's timers and limits on its bot's
// clock, and the embedded world and a bot both running 4x: tick rates reached, a dig the server
// accepts in a quarter of the time, a smelt in a quarter of vanilla's 10 s, and the whole tech
// tree (techtree.js) at 4x.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { Clock, checkTimeScale, attachClock, clockOf, REAL_TIME } = require('../bot/clock')
const { runProgram } = require('../bot/runner')
const { fakeBot: plainFakeBot } = require('./fake_bot')
const { createBot } = require('../bot/create')
const { startWorld, quit, sleep, waitFor, count } = require('./server_harness')
const { play, mine, smelt, place } = require('./techtree')

const PORT = 25571
const K = 4

test('the clock turns game time into wall time and back', () => {
  const clock = new Clock(4)
  assert.equal(clock.realMs(10000), 2500)
  assert.equal(clock.gameMs(2500), 10000)
  assert.equal(clock.targetTicksPerSecond, 80)
  assert.equal(clock.describe(600000), '600 s of game time (150 s at time scale 4)')
  assert.equal(REAL_TIME.describe(120000), '120 s')
  assert.equal(REAL_TIME.realMs(undefined), undefined) // Node's timers get what they always got
  assert.equal(REAL_TIME.makeDate(), Date)
})

test('game time runs K times faster, in Date too', async () => {
  const clock = new Clock(4)
  const GameDate = clock.makeDate()
  const t0 = GameDate.now()
  const wall = Date.now()
  await sleep(200)
  const game = GameDate.now() - t0
  const real = Date.now() - wall
  assert.ok(Math.abs(game - 4 * real) < 40, `game ${game} ms vs wall ${real} ms`)
  assert.ok(new GameDate() instanceof Date)
  assert.equal(new GameDate(0).getTime(), 0)
  assert.notEqual(clock.makeDate(), GameDate) // one per program step: its changes end with the step
})

test('a time scale of 0 or less, or not a number, is refused with what to write', () => {
  for (const bad of [0, -1, 'abc', NaN, Infinity, null, '']) {
    assert.throws(() => checkTimeScale(bad), /time scale must be a number above 0 \(1 = real time, 4 = four times faster\)/)
  }
  assert.throws(() => checkTimeScale(1000), /above the maximum of 100/)
  assert.equal(checkTimeScale('2.5'), 2.5)
})

test('a bot asked to run at a bad time scale does not connect', async () => {
  await assert.rejects(createBot({ port: 1, timeScale: 0 }), /time scale must be a number above 0/)
})

// The runner's stand-in bot, on a game clock running `scale` times real time.
function fakeBot (scale, options) {
  const bot = plainFakeBot(options)
  attachClock(bot, new Clock(scale))
  return bot
}

test('a program at 4x: setTimeout and Date.now are game time, the wall sees a quarter', async () => {
  const bot = fakeBot(4)
  const started = Date.now()
  const r = await runProgram({
    bot,
    code: 'async function wait(bot) {\n  const t0 = Date.now()\n  await new Promise(r => setTimeout(r, 2000))\n  bot.chat(String(Date.now() - t0))\n}',
    timeoutMs: 60000,
    stuckMs: 20000
  })
  const wall = Date.now() - started
  assert.equal(r.ok, true, JSON.stringify(r.error))
  const game = Number(r.chat[0])
  assert.ok(game >= 1950 && game < 2600, `the program measured ${game} game ms`)
  assert.ok(wall < 1200, `took ${wall} wall ms`)
})

test('at 4x the step time limit and the stuck detector are game seconds', async () => {
  let started = Date.now()
  let r = await runProgram({ bot: fakeBot(4), code: 'async function spin(bot) {\n  while (true) { await new Promise(r => setTimeout(r, 10)) }\n}', timeoutMs: 4000, stuckMs: 20000 })
  assert.ok(Date.now() - started < 2000)
  assert.match(r.error.message, /timed out after 4 s of game time \(1 s at time scale 4\)/)

  started = Date.now()
  r = await runProgram({ bot: fakeBot(4, { moving: true }), code: 'async function walk(bot) {\n  await new Promise(r => setTimeout(r, 60000))\n}', timeoutMs: 120000, stuckMs: 4000 })
  assert.ok(Date.now() - started < 2500, `stuck detector took ${Date.now() - started} ms`)
  assert.match(r.stopped, /stuck: tried to move for 4 s/)
})

function clockReport (world) {
  try { return JSON.parse(fs.readFileSync(path.join(world.dir, 'lifelong-clock.json'), 'utf8')) } catch { return null }
}

test('world and bot at 4x: tick rates, a dig, a smelt, then the tech tree', { timeout: 600000 }, async (t) => {
  const world = await startWorld({ port: PORT, seed: 42, mobs: true, difficulty: 'easy', daylight: true, timeScale: K })
  let bot
  try {
    bot = await createBot({ port: PORT, username: 'Fast', timeScale: K })
    await bot.waitForChunksToLoad()
    assert.equal(clockOf(bot).scale, K)

    // Rates reached: the 2-core machine is shared, so only insist on most of the target.
    await sleep(6000)
    const report = await waitFor(() => { const r = clockReport(world); return r && r.ticks_per_s ? r : null }, 10000)
    t.diagnostic(`world ${report.ticks_per_s} ticks/s, bot ${clockOf(bot).ticksPerSecond().toFixed(1)} ticks/s (target ${20 * K})`)
    assert.equal(report.time_scale, K)
    assert.equal(report.target_ticks_per_s, 20 * K)
    assert.ok(report.ticks_per_s > 0.6 * 20 * K, `world reached ${report.ticks_per_s} ticks/s`)
    assert.ok(clockOf(bot).ticksPerSecond() > 0.6 * 20 * K, `bot reached ${clockOf(bot).ticksPerSecond()} ticks/s`)
    const day0 = bot.time.timeOfDay
    await sleep(2000)
    const advanced = (bot.time.timeOfDay - day0 + 24000) % 24000
    assert.ok(advanced >= 0.6 * 2 * 20 * K, `world time advanced ${advanced} ticks in 2 s`)

    // A log dug by hand (3 s of game time) takes about 0.75 s on the wall, and the server agrees.
    const logs = count(bot, n => n.name.endsWith('_log'))
    const started = Date.now()
    await mine(bot, name => name.endsWith('_log'), i => i.name.endsWith('_log'), 1)
    t.diagnostic(`a log mined (walk + dig + pickup) in ${Date.now() - started} ms`)
    assert.ok(count(bot, n => n.name.endsWith('_log')) > logs)
    assert.ok(!/refused dig/.test(world.log()), world.log().split('\n').filter(l => /refused/.test(l)).join('\n'))

    // A smelt takes 10 s of game time: 2.5 s at 4x (the server's furnace ticks follow K).
    bot.chat('/give Fast furnace 1')
    bot.chat('/give Fast raw_iron 1')
    bot.chat('/give Fast coal 1')
    await waitFor(() => count(bot, 'coal') >= 1 && count(bot, 'furnace') >= 1, 5000)
    const furnace = await place(bot, 'furnace')
    const smeltStart = Date.now()
    await smelt(bot, furnace, 'raw_iron', 'coal', 1)
    const smeltMs = Date.now() - smeltStart
    t.diagnostic(`1 raw iron smelted in ${smeltMs} ms`)
    assert.ok(smeltMs < 7000, `smelting took ${smeltMs} ms`)
    assert.equal(count(bot, 'iron_ingot'), 1)
  } finally {
    await quit(bot)
    await world.stop()
  }
})

test('survival tech tree at 4x: logs -> iron pickaxe, beef, chest', { timeout: 600000 }, async (t) => {
  const world = await startWorld({ port: PORT + 1, seed: 42, mobs: true, difficulty: 'easy', daylight: false, timeScale: K })
  let bot
  try {
    bot = await createBot({ port: PORT + 1, username: 'FastTree', timeScale: K })
    await bot.waitForChunksToLoad()
    const started = Date.now()
    const result = await play(bot, line => t.diagnostic(line))
    t.diagnostic(`tech tree at ${K}x in ${((Date.now() - started) / 1000).toFixed(0)} s`)
    assert.equal(result.inventory.iron_pickaxe, 1)
    assert.ok(result.inventory.beef >= 1)
    assert.equal(result.milestones.at(-1).step, 'chest deposit + withdraw')
    assert.ok(!/\/give/.test(world.log()), 'no /give was used')
  } finally {
    await quit(bot)
    await world.stop()
  }
})
