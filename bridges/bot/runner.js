// The program runner: an LLM-written `async function name(bot)` runs in a node `vm`
// context that exposes only the bot, the primitives, the given skills and a few helpers.
//
// Why each piece exists:
// - acorn parses first, so syntax errors come back before anything moves.
// - Loops and function bodies get an inline guard (same line, so line numbers stay
//   true) that throws once the step is stopped: a synchronous `while (true) {}` would
//   otherwise freeze Node's only thread and nothing else could stop it.
// - The bot is handed over through a Proxy bound to this run: once the run is stopped
//   (timeout, stuck, disconnect) any further use of `bot` throws, so a program that
//   kept a promise alive cannot act after its step ended.
// - Each script gets a `lifelong:` filename, so stack frames map back to the line of
//   the program, skill or primitive that failed.
// Note: `vm` is not a security boundary against adversarial code (host objects such as
// `bot` reach the host realm); it keeps honest-but-wrong LLM code from touching
// require, process, files or the network, and it stops runaway programs.
'use strict'
const vm = require('vm')
const crypto = require('crypto')
const path = require('path')
const acorn = require(path.join(__dirname, '..', 'node_modules', 'acorn'))
const { watchStall, PROGRESS_BLOCKS } = require('./stall')
const { clockOf } = require('./clock')

const GUARD = '__lifelong_guard'
const AT = '__lifelong_at'
const PROGRAM_FILE = 'lifelong:program.js'
const LOOPS = new Set(['WhileStatement', 'DoWhileStatement', 'ForStatement', 'ForInStatement', 'ForOfStatement'])
const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'])

class ProgramStopped extends Error {
  constructor (reason) {
    super(reason)
    this.name = 'ProgramStopped'
  }
}

/** Parse with acorn; on failure return a message that names the line and shows it. */
function parse (code, where) {
  try {
    return {
      ast: acorn.parse(code, {
        ecmaVersion: 'latest',
        sourceType: 'script',
        allowAwaitOutsideFunction: true,
        allowReturnOutsideFunction: true,
        locations: true
      })
    }
  } catch (err) {
    const line = err.loc ? err.loc.line : null
    const text = line ? (code.split('\n')[line - 1] || '').trim() : ''
    const msg = String(err.message).replace(/\s*\(\d+:\d+\)$/, '')
    return {
      error: {
        type: 'SyntaxError',
        message: `SyntaxError: ${msg} at line ${line} of ${where}: ${text}`,
        line,
        code: text,
        source: where
      }
    }
  }
}

function walk (node, visit) {
  if (!node || typeof node.type !== 'string') return
  visit(node)
  for (const key of Object.keys(node)) {
    if (key === 'loc') continue
    const child = node[key]
    if (Array.isArray(child)) child.forEach(c => walk(c, visit))
    else if (child && typeof child.type === 'string') walk(child, visit)
  }
}

/**
 * Rewrite code so it can be stopped: guards inside every loop and function body, and
 * top-level call statements blanked out (Voyager runs only the declarations and calls the
 * last async function itself). Newlines are preserved so reported lines stay exact.
 */
function instrument (code, ast, filename = PROGRAM_FILE) {
  const edits = [] // [position, removeLength, insertText]
  const dropped = []
  const kept = []
  for (const stmt of ast.body) {
    if (stmt.type === 'ExpressionStatement' && !stmt.directive) {
      edits.push([stmt.start, stmt.end - stmt.start, code.slice(stmt.start, stmt.end).replace(/[^\n]/g, ' ')])
      dropped.push(stmt.loc.start.line)
    } else kept.push(stmt)
  }
  const file = JSON.stringify(filename)
  for (const stmt of kept) {
    walk(stmt, (node) => {
      if (LOOPS.has(node.type)) {
        const body = node.body
        if (body.type === 'BlockStatement') edits.push([body.start + 1, 0, `${GUARD}();`])
        else {
          edits.push([body.start, 0, `{${GUARD}();`])
          edits.push([body.end, 0, '}'])
        }
      } else if (FUNCTIONS.has(node.type) && node.body.type === 'BlockStatement') {
        edits.push([node.body.start + 1, 0, `${GUARD}();`])
      } else if (node.type === 'AwaitExpression' && node.argument) {
        // await AT(file, line, x): a rejection from host code (a pathfinder goal, a dig) carries
        // no frame of ours in its stack; this notes which line was awaiting it.
        edits.push([node.argument.start, 0, `${AT}(${file},${node.loc.start.line},`])
        edits.push([node.argument.end, 0, ')'])
      }
    })
  }
  // Later positions first. At one position the last insert lands first in the text, so the
  // ')' closing an await argument is applied last: `)}` and `)AT(`, never `})`.
  edits.sort((a, b) => b[0] - a[0] || (a[2] === ')' ? 1 : 0) - (b[2] === ')' ? 1 : 0))
  let out = code
  for (const [pos, len, text] of edits) out = out.slice(0, pos) + text + out.slice(pos + len)
  return { source: out, dropped }
}

/** Names of the top-level async functions, in order; the last one is the program's entry. */
function asyncFunctions (ast) {
  return ast.body.filter(s => s.type === 'FunctionDeclaration' && s.async).map(s => s.id.name)
}

const scriptCache = new Map()
const CACHE_LIMIT = 4096

/** Compile (parse + instrument + vm.Script) once per distinct source. */
function compile (code, filename, where, { trusted = false } = {}) {
  const key = crypto.createHash('sha1').update(filename).update('\0').update(code).digest('hex')
  const hit = scriptCache.get(key)
  if (hit) return hit
  const parsed = parse(code, where)
  let entry
  if (parsed.error) entry = { error: parsed.error }
  else {
    const { source, dropped } = trusted ? { source: code, dropped: [] } : instrument(code, parsed.ast, filename)
    entry = {
      filename,
      script: new vm.Script(source, { filename }),
      functions: asyncFunctions(parsed.ast),
      lines: code.split('\n'),
      dropped,
      where
    }
  }
  if (scriptCache.size >= CACHE_LIMIT) scriptCache.delete(scriptCache.keys().next().value)
  scriptCache.set(key, entry)
  return entry
}

const FRAME = /(lifelong:[^\s():]+):(\d+):(\d+)/

/**
 * Turn a thrown value into {message, line, code, source, frames}: `line` is the line of
 * the program (the LLM's own code) that was running, even when the throw happened
 * deeper, inside a skill or primitive it called.
 */
function describeError (err, files, awaits = new WeakMap()) {
  const name = (err && err.name) || 'Error'
  const text = err && err.message !== undefined ? String(err.message) : String(err)
  const frames = []
  for (const line of String((err && err.stack) || '').split('\n')) {
    const m = FRAME.exec(line)
    if (!m) continue
    const file = files.get(m[1])
    if (!file) continue
    const lineNo = Number(m[2])
    const fn = (/at (?:async )?([\w$.]+) \(/.exec(line) || [])[1] || null
    frames.push({ source: file.where, file: m[1], line: lineNo, function: fn, code: (file.lines[lineNo - 1] || '').trim() })
  }
  if (!frames.some(f => f.file === PROGRAM_FILE) && err && typeof err === 'object' && awaits.has(err)) {
    for (const a of awaits.get(err)) {
      const file = files.get(a.file)
      if (file) frames.push({ source: file.where, file: a.file, line: a.line, function: null, code: (file.lines[a.line - 1] || '').trim() })
    }
  }
  const programFrame = frames.find(f => f.file === PROGRAM_FILE) || null
  let message = `${name}: ${text}`
  if (programFrame) message += `\n  at line ${programFrame.line} of the program: ${programFrame.code}`
  // Below the program line, the most useful place to name: the innermost library skill (LLM
  // code too), else the primitive the program called (not the helper deep inside it).
  const below = programFrame ? frames.slice(0, frames.indexOf(programFrame)) : frames
  const inner = below.find(f => f.file.startsWith('lifelong:skills/')) || below[below.length - 1] || null
  if (inner) {
    message += `\n  in ${inner.source}${inner.function ? ` (${inner.function})` : ''} at line ${inner.line}: ${inner.code}`
  }
  return {
    type: name,
    message,
    line: programFrame ? programFrame.line : null,
    code: programFrame ? programFrame.code : null,
    source: inner ? inner.source : null,
    frames
  }
}

function sandboxError (what) {
  return new Error(`${what} is not available to programs: they run in a sandbox without require, process, files or network. Use bot, the primitives (mineBlock, craftItem, ...), mcData, Vec3 and the pathfinder goals.`)
}

/** State of one step: cancelled flag, chat lines and listeners/timers the program created. */
class Run {
  constructor (chat) {
    this.cancelled = false
    this.reason = null
    this.chat = chat || []
    this.logs = []
    this.saves = []
    this.listeners = []
    this.timers = new Set()
    this.onCancel = []
    this.deadline = Infinity
    this.timeoutReason = null
    this.awaits = new WeakMap() // error -> [{file, line}] of the awaits it passed through
  }

  cancel (reason) {
    if (this.cancelled) return
    this.cancelled = true
    this.reason = reason
    for (const fn of this.onCancel) { try { fn(reason) } catch (_) {} }
  }

  /** Called by guards and by every use of `bot`: the only way to stop a busy synchronous loop. */
  check () {
    if (!this.cancelled && Date.now() > this.deadline) this.cancel(this.timeoutReason)
    if (this.cancelled) throw new ProgramStopped(`program stopped: ${this.reason}`)
  }
}

/** The `bot` a program sees: the real bot, but stoppable and with chat/listeners recorded. */
function botProxy (bot, run) {
  const track = (method) => (event, fn) => {
    run.listeners.push([event, fn])
    bot[method](event, fn)
    return proxy
  }
  const refuse = (what, why) => () => { throw new Error(`${what} is not available to programs: ${why}`) }
  const overrides = {
    chat (message) {
      const text = String(message)
      if (text.startsWith('/') && !run.allowCommands) {
        throw new Error(`server commands such as ${JSON.stringify(text.split(' ')[0])} are not available to programs: get items by mining, crafting, smelting and killing mobs with the primitives`)
      }
      run.chat.push(text)
      // The game protocol caps a chat message at 256 characters; longer ones get the client kicked.
      if (bot._client && bot._client.socket && !bot._client.socket.destroyed) bot.chat(text.slice(0, 250))
    },
    save (event) { run.saves.push(String(event)) }, // Voyager's bot.save(eventName) marker
    quit: refuse('bot.quit()', 'the environment owns the connection'),
    end: refuse('bot.end()', 'the environment owns the connection'),
    on: track('on'),
    once: track('once'),
    addListener: track('on'),
    prependListener: track('prependListener')
  }
  const proxy = new Proxy(bot, {
    get (target, prop) {
      run.check()
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop]
      if (prop === 'constructor') return undefined
      return Reflect.get(target, prop, target)
    },
    set (target, prop, value) {
      run.check()
      return Reflect.set(target, prop, value, target)
    }
  })
  return proxy
}

/** Globals of a program's context: the bot, helpers, tracked timers; require/process throw. */
function makeContext (run, bot, helpers) {
  const fmt = (args) => args.map(a => (typeof a === 'string' ? a : safeJson(a))).join(' ')
  const timer = (setFn, clearFn) => (fn, ms, ...args) => {
    const handle = setFn(() => { if (!run.cancelled) fn(...args) }, clockOf(bot).realMs(ms)) // game ms (clock.js)
    run.timers.add([handle, clearFn])
    return handle
  }
  const sandbox = {
    ...helpers,
    ...(clockOf(bot).scale === 1 ? {} : { Date: clockOf(bot).makeDate() }), // game time at time scale K (clock.js)
    bot: botProxy(bot, run),
    console: {
      log: (...a) => run.logs.push(fmt(a)),
      info: (...a) => run.logs.push(fmt(a)),
      warn: (...a) => run.logs.push(fmt(a)),
      error: (...a) => run.logs.push(fmt(a))
    },
    setTimeout: timer(setTimeout, clearTimeout),
    setInterval: timer(setInterval, clearInterval),
    clearTimeout: (h) => clearTimeout(h),
    clearInterval: (h) => clearInterval(h),
    // For primitives that can recover from a stalled path before the stuck detector ends the
    // run: watches the real bot (the program's proxy throws once the run stops) and ends with the step.
    _watchStall: (seconds, onStall) => {
      const unwatch = watchStall(bot, seconds * 1000, () => { if (!run.cancelled) onStall() })
      run.timers.add([null, unwatch])
      return unwatch
    },
    [GUARD]: () => run.check(),
    [AT]: (file, line, value) => {
      if (!value || typeof value.then !== 'function') return value
      return Promise.resolve(value).catch((err) => {
        if (err && typeof err === 'object') {
          const list = run.awaits.get(err) || []
          list.push({ file, line })
          run.awaits.set(err, list)
        }
        throw err
      })
    },
    require: (name) => { throw sandboxError(`require(${JSON.stringify(name)})`) }
  }
  for (const name of ['process', 'module', 'exports', 'Buffer', 'fetch', 'global']) {
    Object.defineProperty(sandbox, name, { get () { throw sandboxError(name) }, enumerable: false })
  }
  const context = vm.createContext(sandbox, {
    name: 'lifelong program',
    codeGeneration: { strings: false, wasm: false }
  })
  vm.runInContext('Error.stackTraceLimit = 50', context)
  return context
}

function safeJson (value) {
  try { return JSON.stringify(value) } catch (_) { return String(value) }
}

/** Stop everything the bot might still be doing for a stopped program. */
function halt (bot) {
  try { bot.pathfinder.stop() } catch (_) {}
  try { bot.pathfinder.setGoal(null) } catch (_) {}
  try { if (bot.collectBlock && bot.collectBlock.cancelTask) bot.collectBlock.cancelTask().catch(() => {}) } catch (_) {}
  try { if (bot.pvp) bot.pvp.stop() } catch (_) {}
  try { bot.stopDigging() } catch (_) {}
  try { bot.deactivateItem() } catch (_) {}
  try { bot.clearControlStates() } catch (_) {}
  try { if (bot.currentWindow) bot.closeWindow(bot.currentWindow) } catch (_) {}
}

/** Ends the run when the bot tries to move (pathfinder or controls) and gets nowhere for `stuckMs`. */
function stuckDetector (bot, run, stuckMs) {
  const moving = () => {
    try {
      if (bot.pathfinder && bot.pathfinder.isMoving()) return true
      const c = bot.controlState || {}
      return Boolean(c.forward || c.back || c.left || c.right)
    } catch (_) { return false }
  }
  return watchStall(bot, stuckMs, (pos) => {
    const p = `${pos.x.toFixed(1)}, ${pos.y.toFixed(1)}, ${pos.z.toFixed(1)}`
    run.cancel(`stuck: tried to move for ${Math.round(stuckMs / 1000)} s without getting ${PROGRESS_BLOCKS} blocks from (${p}); movement was stopped. Pick a reachable target or explore elsewhere.`)
  }, moving)
}

/**
 * Run one program. Returns {ok, error, chat, logs, saves, elapsed_ms, stopped}.
 * @param {object} o
 * @param {object} o.bot the real mineflayer bot
 * @param {string} o.code the program
 * @param {{name:string, code:string}[]} o.skills library skills (already limited to what is needed)
 * @param {{file:string, code:string}[]} o.primitives primitive sources (trusted)
 * @param {object} o.helpers extra globals (mcData, Vec3, goals, ...)
 * @param {number} o.timeoutMs wall-clock limit
 * @param {number} o.stuckMs no-progress limit while moving
 * @param {string[]} [o.chat] where chat lines go (shared with the server's messages, in order)
 * @param {boolean} [o.allowCommands] let programs send /commands (tests, tools); off for agents,
 *   whose programs must not /give themselves what the task asks for
 */
async function runProgram (o) {
  const started = Date.now()
  const run = new Run(o.chat)
  run.allowCommands = Boolean(o.allowCommands)
  const files = new Map()
  const result = (extra) => ({
    ok: false,
    error: null,
    chat: run.chat,
    logs: run.logs,
    saves: run.saves,
    stopped: run.reason,
    elapsed_ms: Date.now() - started,
    ...extra
  })

  const program = compile(o.code, PROGRAM_FILE, 'the program')
  if (program.error) return result({ error: program.error })
  if (program.functions.length === 0) {
    return result({
      error: {
        type: 'ProgramError',
        message: 'ProgramError: no async function found. Write the program as `async function name(bot) { ... }`; the last async function is the one that runs.',
        line: null,
        code: null,
        source: 'the program'
      }
    })
  }
  files.set(PROGRAM_FILE, program)
  const units = []
  for (const p of o.primitives || []) {
    const unit = compile(p.code, `lifelong:primitives/${p.file}`, `primitive ${p.file}`, { trusted: true })
    if (unit.error) return result({ error: unit.error })
    units.push(unit)
  }
  for (const s of o.skills || []) {
    const unit = compile(s.code, `lifelong:skills/${s.name}.js`, `skill ${s.name}`)
    if (unit.error) return result({ error: unit.error })
    units.push(unit)
  }
  for (const u of units) files.set(u.filename, u)

  const bot = o.bot
  const context = makeContext(run, bot, o.helpers || {})
  const mainName = program.functions[program.functions.length - 1]
  let main
  try {
    for (const u of units) u.script.runInContext(context, { timeout: 1000 })
    program.script.runInContext(context, { timeout: 1000 })
    main = context[mainName]
  } catch (err) {
    return result({ error: describeError(err, files, run.awaits) })
  }

  let stopNow
  const stoppedPromise = new Promise(resolve => { stopNow = resolve })
  run.onCancel.push((reason) => { halt(bot); stopNow(reason) })
  const limitMs = clockOf(bot).realMs(o.timeoutMs) // o.timeoutMs is game time (clock.js)
  run.timeoutReason = `timed out after ${clockOf(bot).describe(o.timeoutMs)} (the step's time limit); movement was stopped. Avoid infinite loops and long waits.`
  run.deadline = Date.now() + limitMs
  const timeout = setTimeout(() => run.cancel(run.timeoutReason), limitMs)
  const unstuck = stuckDetector(bot, run, o.stuckMs || 20000)
  const onEnd = (reason) => run.cancel(`disconnected from the server (${reason || 'connection closed'})`)
  bot.once('end', onEnd)

  let outcome
  let stoppedReason = null
  const programPromise = Promise.resolve().then(() => main(context.bot)).then(
    () => ({ ok: true }),
    (err) => ({ ok: false, err })
  )
  try {
    outcome = await Promise.race([programPromise, stoppedPromise.then(reason => ({ ok: false, stopped: reason }))])
    if (outcome.stopped) {
      // Give the program a moment to hit a guard, so the error can name the line it was on.
      const late = await Promise.race([programPromise, new Promise(resolve => setTimeout(() => resolve(null), 100))])
      outcome = late && late.err ? late : outcome
    }
  } finally {
    stoppedReason = run.reason
    clearTimeout(timeout)
    unstuck()
    bot.off('end', onEnd)
    for (const [event, fn] of run.listeners) bot.removeListener(event, fn)
    for (const [handle, clearFn] of run.timers) clearFn(handle)
    // Whatever the program left running (an un-awaited goto, a pending promise) ends with the step.
    run.cancel('the step finished')
  }
  if (outcome.ok) return result({ ok: true, stopped: null })
  if (outcome.err) {
    const error = describeError(outcome.err, files, run.awaits)
    if (outcome.err && outcome.err.name === 'ProgramStopped') error.type = 'ProgramStopped'
    return result({ error, stopped: stoppedReason })
  }
  return result({
    error: { type: 'ProgramStopped', message: `ProgramStopped: program stopped: ${outcome.stopped}`, line: null, code: null, source: null, frames: [] },
    stopped: stoppedReason
  })
}

module.exports = { runProgram, compile, parse, instrument, describeError, ProgramStopped, halt }
