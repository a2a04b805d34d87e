'use strict'
// The program runner without a server: a stand-in bot (an EventEmitter with the few fields
// the runner touches) is enough to check sandboxing, stopping and error lines.
const test = require('node:test')
const assert = require('node:assert')
const path = require('path')
const { Vec3 } = require(path.join(__dirname, '..', 'node_modules', 'vec3'))
const { runProgram, parse, instrument, describeProgram } = require('../bot/runner')
const { loadPrimitives } = require('../bot')
const { fakeBot } = require('./fake_bot')

const run = (code, extra = {}) => runProgram({ bot: fakeBot(), code, timeoutMs: 1000, stuckMs: 5000, ...extra })

test('the last async function runs with bot; chat is recorded', async () => {
  const r = await run('async function a(bot) { bot.chat("a") }\nasync function b(bot) { bot.chat("b") }')
  assert.strictEqual(r.ok, true)
  assert.deepStrictEqual(r.chat, ['b'])
})

test('describeProgram: the main runProgram calls, and the names called that the code does not declare', async () => {
  const code = '// gone(bot)\nasync function helper(bot) { await mineWoodLog(bot) }\nfunction sync () {}\n' +
    'async function main(bot, n = 1) { const f = (x) => x; f(1); bot.chat("x"); sync(); await helper(bot); await mineBlock(bot, "stone", n) }\n'
  const described = describeProgram(code)
  assert.deepStrictEqual(described, {
    functions: [{ name: 'helper', params: ['bot'] }, { name: 'main', params: ['bot', 'n'] }],
    main: 'main',
    calls: ['mineWoodLog', 'mineBlock']
  })
  const r = await run(code.replace('await helper(bot); await mineBlock(bot, "stone", n)', 'bot.chat("main ran")'))
  assert.deepStrictEqual(r.chat, ['x', 'main ran'])
  assert.match(describeProgram('async function (').error.message, /SyntaxError.*line 1/)
})

test('instrumenting keeps every line where it was', () => {
  const code = 'async function f(bot) {\n  for (let i = 0; i < 3; i++) x()\n  while (true) {\n  }\n}\nf(bot)\n'
  const { source, dropped } = instrument(code, parse(code, 'p').ast)
  assert.strictEqual(source.split('\n').length, code.split('\n').length)
  assert.deepStrictEqual(dropped, [6])
  assert.match(source.split('\n')[1], /__lifelong_guard\(\)/)
})

test('a synchronous infinite loop is stopped at the deadline, on its line', async () => {
  const t = Date.now()
  const r = await run('async function spin(bot) {\n  let i = 0\n  while (true) { i++ }\n}')
  assert.ok(Date.now() - t < 2500)
  assert.strictEqual(r.error.type, 'ProgramStopped')
  assert.strictEqual(r.error.line, 3)
  assert.match(r.error.message, /timed out after 1 s/)
})

test('require, process and eval are refused with a clear message', async () => {
  for (const [line, re] of [['require("child_process")', /require\("child_process"\) is not available/],
    ['process.exit(0)', /process is not available/],
    ['eval("1 + 1")', /Code generation from strings disallowed/]]) {
    const r = await run(`async function bad(bot) {\n  ${line}\n  bot.chat("ran")\n}`)
    assert.match(r.error.message, re)
    assert.strictEqual(r.error.line, 2)
    assert.deepStrictEqual(r.chat, [])
  }
})

test('errors inside a skill point at the skill line and at the calling program line', async () => {
  const skills = [{ name: 'inner', code: 'async function inner(bot) {\n  const x = undefined\n  return x.y\n}' }]
  const r = await run('async function main(bot) {\n  bot.chat("go")\n  await inner(bot)\n}', { skills })
  assert.strictEqual(r.error.line, 3)
  assert.strictEqual(r.error.source, 'skill inner')
  assert.match(r.error.message, /at line 3 of the program: await inner\(bot\)/)
  assert.match(r.error.message, /in skill inner \(inner\) at line 3: return x\.y/)
})

test('syntax errors come back before anything runs', async () => {
  const r = await run('async function main(bot) {\n  bot.chat("no")\n  let = = 1\n}')
  assert.strictEqual(r.error.type, 'SyntaxError')
  assert.strictEqual(r.error.line, 3)
  assert.deepStrictEqual(r.chat, [])
})

test('the stuck detector stops a bot that tries to move but does not', async () => {
  const bot = fakeBot({ moving: true })
  const r = await runProgram({ bot, code: 'async function m(bot) { await new Promise(() => {}) }', timeoutMs: 5000, stuckMs: 600 })
  assert.strictEqual(r.error.type, 'ProgramStopped')
  assert.match(r.stopped, /^stuck/)
})

test('listeners and timers a program leaves behind end with its step', async () => {
  const bot = fakeBot()
  const r = await runProgram({ bot, code: 'async function m(bot) { bot.on("chat", () => bot.chat("echo")); setTimeout(() => bot.chat("late"), 50) }', timeoutMs: 1000 })
  assert.strictEqual(r.ok, true)
  assert.strictEqual(bot.listenerCount('chat'), 0)
  await new Promise(resolve => setTimeout(resolve, 120))
  bot.emit('chat')
  assert.deepStrictEqual(bot.said, [])
})

test('every primitive file compiles and defines its Voyager function', async () => {
  const primitives = loadPrimitives(path.join(__dirname, '..', '..', 'skills', 'minecraft', 'primitives'))
  const r = await runProgram({
    bot: fakeBot(),
    primitives,
    code: 'async function m(bot) { bot.chat([mineBlock, craftItem, smeltItem, placeItem, killMob, exploreUntil, getItemFromChest, depositItemIntoChest, checkItemInsideChest, failedCraftFeedback, waitForMobRemoved].map(f => typeof f).join()) }',
    timeoutMs: 1000
  })
  assert.strictEqual(r.ok, true, r.error && r.error.message)
  assert.deepStrictEqual(r.chat, [Array(11).fill('function').join()])
})

test('a primitive error names the primitive the program called, not its helper', async () => {
  const primitives = loadPrimitives(path.join(__dirname, '..', '..', 'skills', 'minecraft', 'primitives'))
  const mcData = require(path.join(__dirname, '..', 'node_modules', 'minecraft-data'))('1.21.1')
  const r = await runProgram({
    bot: fakeBot(),
    primitives,
    helpers: { mcData, Vec3 },
    code: 'async function m(bot) {\n  await mineBlock(bot, "oak_logs", 1)\n}',
    timeoutMs: 1000
  })
  assert.strictEqual(r.error.line, 2)
  assert.strictEqual(r.error.source, 'primitive mineBlock.js')
  assert.match(r.error.message, /No block named 'oak_logs'\. Did you mean oak_log/)
  assert.match(r.error.message, /in primitive mineBlock\.js \(mineBlock\) at line \d+:/)
})

test('a rejection from host code names the awaiting line of the program and skill', async () => {
  const bot = fakeBot()
  bot.pathfinder.goto = () => new Promise((resolve, reject) => setTimeout(() => {
    const err = new Error('The goal was changed before it could be completed!')
    err.name = 'GoalChanged'
    reject(err)
  }, 5))
  const skills = [{ name: 'walk', code: 'async function walk(bot) {\n  const g = 1\n  await bot.pathfinder.goto(g)\n}' }]
  const r = await runProgram({ bot, skills, code: 'async function m(bot) {\n  while (false) await walk(bot)\n  await walk(bot)\n}', timeoutMs: 1000 })
  assert.strictEqual(r.error.type, 'GoalChanged')
  assert.strictEqual(r.error.line, 3)
  assert.strictEqual(r.error.source, 'skill walk')
  assert.match(r.error.message, /at line 3 of the program: await walk\(bot\)/)
  assert.match(r.error.message, /in skill walk at line 3: await bot\.pathfinder\.goto\(g\)/)
})

test('instrumented awaits keep the code valid in tricky spots', async () => {
  const r = await run('async function m(bot) {\n  for (const x of [1]) await Promise.resolve(x)\n  const v = await (await Promise.resolve(Promise.resolve(2)))\n  if (v === 2) bot.chat("ok " + (await 40 + 2))\n}')
  assert.strictEqual(r.ok, true, r.error && r.error.message)
  assert.deepStrictEqual(r.chat, ['ok 42'])
})
