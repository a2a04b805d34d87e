'use strict'
// The runner as an attacker sees it: programs that try to leave the sandbox through
// every kind of host object they can reach, through routes no static rule knows, and programs
// that try to hang, crash or flood the bot's Node process. No server: a stand-in bot with real
// host objects (a Vec3, items, blocks, arrays and promises from host calls, host errors, sloppy
// host functions like mineflayer's). Faults that could hang or kill Node run in a child process.
const CHILD = process.env.LIFELONG_SANDBOX_CHILD
const test = CHILD ? () => {} : require('node:test') // a child runs one program, no tests
const assert = require('node:assert')
const { EventEmitter } = require('events')
const { spawnSync } = require('child_process')
const path = require('path')
const modules = path.join(__dirname, '..', 'node_modules')
const { Vec3 } = require(path.join(modules, 'vec3'))
const { runProgram } = require('../bot/runner')

class Item { constructor (name, count) { this.name = name; this.count = count } }
class Block { constructor (name, position) { this.name = name; this.position = position } }

/** A bot whose fields are real host objects, as mineflayer's are. */
function fakeBot () {
  const bot = new EventEmitter()
  bot.entity = { position: new Vec3(0, 64, 0) }
  bot.inventory = { items: () => [new Item('oak_log', 3)] }
  bot.blockAt = (pos) => new Block('stone', pos)
  bot.waitForTicks = (n) => new Promise(resolve => setTimeout(resolve, 5 * n))
  bot.dig = async (block) => { if (!block) throw new Error('dig: no block given') }
  // mineflayer's modules are sloppy code: so is this host function (Function makes sloppy code).
  bot.lookAt = new Function('v', 'return v.x + v.y + v.z') // eslint-disable-line no-new-func
  bot.controlState = {}
  bot.said = []
  bot.chat = (m) => bot.said.push(m)
  bot._client = { socket: { destroyed: false } }
  bot.pathfinder = { isMoving: () => false, stop () {}, setGoal () {} }
  bot.clearControlStates = () => {}
  bot.stopDigging = () => {}
  bot.deactivateItem = () => {}
  return bot
}

const helpers = () => ({
  Vec3,
  mcData: require(path.join(modules, 'minecraft-data'))('1.21.1'),
  GoalNear: require(path.join(modules, 'mineflayer-pathfinder')).goals.GoalNear
})

// ---- a child process for faults that could hang or end Node -----------------------------------

if (CHILD) {
  const spec = JSON.parse(CHILD)
  const bot = fakeBot()
  if (spec.emitEvery) setInterval(() => bot.emit('tick'), spec.emitEvery).unref()
  runProgram({ bot, code: spec.code, timeoutMs: spec.timeoutMs, stuckMs: 60000 }).then((r) => {
    process.stdout.write(JSON.stringify(r) + '\n')
    // Stray rejections and timers fire after the step: Node must still be here to say so.
    setTimeout(() => { process.stdout.write('ALIVE\n'); process.exit(0) }, 300)
  })
}

/** Run a program in a fresh Node; {result, alive, status}. Killed after `killMs`. */
function runIsolated (code, { timeoutMs = 1000, killMs = 10000, emitEvery = 0 } = {}) {
  const child = spawnSync(process.execPath, [__filename], {
    env: { ...process.env, LIFELONG_SANDBOX_CHILD: JSON.stringify({ code, timeoutMs, emitEvery }) },
    encoding: 'utf8',
    timeout: killMs
  })
  const lines = String(child.stdout || '').split('\n')
  const json = lines.find(l => l.startsWith('{'))
  return { result: json ? JSON.parse(json) : null, alive: lines.includes('ALIVE'), status: child.status, signal: child.signal, stderr: child.stderr }
}

// ---- escapes -------------------------------------------------------------------------------------

const GOT_PROCESS = 'x => x && typeof x === "object" && typeof x.pid === "number"'

/** A program that tries `route` (an expression that should yield the host's `process`). */
function escapeProgram (route) {
  return `async function escape(bot) {\n  const got = await (async () => ${route})()\n  if ((${GOT_PROCESS})(got)) bot.chat('ESCAPED ' + got.pid)\n  else bot.chat('no process: ' + typeof got)\n}`
}

const FN = (obj) => `(${obj}).constructor.constructor("return process")()`
const ESCAPES = {
  'the bot, through its prototype': FN('Object.getPrototypeOf(bot)'),
  'a nested object of the bot (bot.entity)': FN('bot.entity'),
  'a Vec3 (bot.entity.position)': FN('bot.entity.position'),
  'an item (bot.inventory.items()[0])': FN('bot.inventory.items()[0]'),
  'a block (bot.blockAt)': FN('bot.blockAt(bot.entity.position)'),
  'mcData': FN('mcData.itemsByName.oak_log'),
  'an array returned by a host call': FN('bot.inventory.items()'),
  'a promise returned by a host call': FN('bot.waitForTicks(1)'),
  'an error thrown by host code': FN('await bot.dig(null).catch(e => e)'),
  'a host function (bot.dig)': 'bot.dig.constructor("return process")()',
  'a sloppy host function (bot.lookAt)': 'bot.lookAt.constructor("return process")()',
  'the Vec3 class': 'Vec3.constructor("return process")()',
  'a pathfinder goal class': 'GoalNear.constructor("return process")()',
  'the refusing require function': 'require.constructor("return process")()',
  'the refusing process accessor': 'Object.getOwnPropertyDescriptor(globalThis, "process").get.constructor("return process")()',
  'console.log': 'console.log.constructor("return process")()',
  'setTimeout': 'setTimeout.constructor("return process")()',
  // Routes no static rule knows of:
  'Reflect and descriptors up to Function.prototype': 'Reflect.getOwnPropertyDescriptor(Reflect.getPrototypeOf(Reflect.getPrototypeOf(bot.dig)), "constructor").value("return process")()',
  'Symbol.species of a returned array': 'bot.inventory.items().constructor[Symbol.species].constructor("return process")()',
  'the async function constructor': 'Reflect.getPrototypeOf(bot.dig).constructor("return process")()',
  'Error.prepareStackTrace on the host error class, frames of a sloppy host function': `(() => {
    const HostError = (() => { try { bot.lookAt(null) } catch (e) { return Object.getPrototypeOf(e.constructor) } })()
    HostError.prepareStackTrace = (e, frames) => frames
    let frames; try { bot.lookAt(null) } catch (e) { frames = e.stack }
    for (const f of Array.isArray(frames) ? frames : []) {
      for (const v of [f.getFunction && f.getFunction(), f.getThis && f.getThis()]) {
        try { const p = (v.constructor.name === 'Function' ? v : v.constructor).constructor('return process')(); if (p) return p } catch (_) {}
      }
    }
    return frames
  })()`,
  'a getter on an object handed to a host callback (the host function\'s live arguments)': `(() => {
    let hostArguments
    bot.lookAt({ get x () { hostArguments = bot.lookAt.arguments; return 0 }, y: 0, z: 0 })
    return hostArguments.constructor.constructor("return process")()
  })()`
}

for (const [kind, route] of Object.entries(ESCAPES)) {
  test(`no way to the host's process through ${kind}`, async () => {
    const bot = fakeBot()
    const r = await runProgram({ bot, code: escapeProgram(route), helpers: helpers(), timeoutMs: 2000 })
    assert.ok(!r.chat.some(c => c.startsWith('ESCAPED')), `escaped: ${r.chat}`)
    assert.ok(!bot.said.some(c => c.startsWith('ESCAPED')))
    // Either the route throws with a message that names the rule, or it yields nothing useful.
    if (r.error) {
      assert.match(r.error.message, /not available to programs|cannot make code from strings|strict mode|caller|callee|frozen|not a function|Cannot read/, r.error.message)
    }
  })
}

test('a constructor-chain attempt is refused with a message naming the rule and what to write', async () => {
  const r = await runProgram({ bot: fakeBot(), code: escapeProgram(FN('bot.entity.position')), helpers: helpers(), timeoutMs: 1000 })
  assert.strictEqual(r.error.line, 2)
  assert.match(r.error.message, /programs cannot make code from strings or reach the host through constructors; write the code directly/)
})

test('import() is refused before the program runs, naming the rule and the line', async () => {
  const r = await runProgram({ bot: fakeBot(), code: 'async function m(bot) {\n  bot.chat("before")\n  const cp = await import("child_process")\n}', timeoutMs: 1000 })
  assert.deepStrictEqual(r.chat, [])
  assert.strictEqual(r.error.type, 'SandboxError')
  assert.strictEqual(r.error.line, 3)
  assert.match(r.error.message, /`import`\/`import\(\)`\/`export` are not available.*Use the globals/)
})

test("the runner's guard cannot be redefined or shadowed by a program", async () => {
  for (const trick of ['__lifelong_guard = () => {}', 'globalThis.__lifelong_guard = () => {}', 'const __lifelong_guard = () => {}']) {
    const r = runIsolated(`async function m(bot) {\n  ${trick}\n  while (true) {}\n}`, { timeoutMs: 500, killMs: 6000 })
    assert.ok(r.result, `Node hung or died on ${trick}: ${r.signal} ${r.stderr}`)
    assert.ok(!r.result.ok)
    assert.match(r.result.error.message, /reserved for the runner|timed out|read[- ]only|Cannot assign|not extensible/, r.result.error.message)
  }
})

// ---- faults the runner must survive ---------------------------------------------------------------

test('an endless promise chain (no loop, no block body) is stopped at the deadline', () => {
  const t = Date.now()
  const r = runIsolated('async function m(bot) {\n  const spin = () => Promise.resolve().then(spin)\n  spin()\n  await new Promise(() => {})\n}', { timeoutMs: 500, killMs: 6000 })
  assert.ok(r.result, `Node hung: killed by ${r.signal}`)
  assert.strictEqual(r.result.error.type, 'ProgramStopped')
  assert.match(r.result.error.message, /timed out/)
  assert.ok(Date.now() - t < 5000)
  assert.ok(r.alive)
})

test('an exception thrown in a timer ends the step with its line; Node lives on', () => {
  const r = runIsolated('async function m(bot) {\n  setTimeout(() => {\n    throw new Error("boom in a timer")\n  }, 10)\n  await bot.waitForTicks(40)\n  bot.chat("after")\n}', { killMs: 6000 })
  assert.ok(r.result && r.alive, `Node died: ${r.status} ${r.signal} ${r.stderr}`)
  assert.strictEqual(r.result.ok, false)
  assert.match(r.result.error.message, /boom in a timer/)
  assert.strictEqual(r.result.error.line, 3)
})

test('an exception thrown in a listener, or an async listener rejecting, ends the step; Node lives on', () => {
  for (const body of ['bot.on("tick", () => { throw new Error("boom in a listener") })',
    'bot.on("tick", async () => { await null; throw new Error("boom in a listener") })']) {
    const r = runIsolated(`async function m(bot) {\n  ${body}\n  await bot.waitForTicks(40)\n}`, { emitEvery: 20, killMs: 6000 })
    assert.ok(r.result && r.alive, `Node died: ${r.status} ${r.signal} ${r.stderr}`)
    assert.strictEqual(r.result.ok, false)
    assert.match(r.result.error.message, /boom in a listener/)
    assert.strictEqual(r.result.error.line, 2)
  }
})

test('an unhandled rejection is reported with the step; Node lives on', () => {
  const r = runIsolated('async function m(bot) {\n  Promise.reject(new Error("nobody awaited me"))\n  await bot.waitForTicks(10)\n  bot.chat("went on")\n}', { killMs: 6000 })
  assert.ok(r.result && r.alive, `Node died: ${r.status} ${r.signal} ${r.stderr}`)
  assert.deepStrictEqual(r.result.chat, ['went on'])
  assert.ok(r.result.background_errors.some(e => /nobody awaited me/.test(e) && /at line 2 of the program/.test(e)), r.result.background_errors)
})

test('a chat flood comes back capped: the last 100 lines of 256 characters, with a note', async () => {
  const bot = fakeBot()
  const r = await runProgram({ bot, code: 'async function m(bot) {\n  for (let i = 0; i < 5000; i++) bot.chat(i + " " + "x".repeat(1000))\n}', timeoutMs: 5000 })
  assert.strictEqual(r.ok, true)
  assert.strictEqual(r.chat.length, 101)
  assert.match(r.chat[0], /^\[4900 earlier chat lines dropped: a step returns its last 100 chat lines of at most 256 characters/)
  assert.ok(r.chat.every(c => c.length <= 256))
  assert.match(r.chat[100], /^4999 x/)
})
