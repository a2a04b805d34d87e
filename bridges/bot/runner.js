// The program runner: an LLM-written `async function name(bot)` runs in an SES `Compartment`
// (Hardened JavaScript, https://github.com/endojs/endo/tree/master/packages/ses) that holds only
// the bot, the primitives, the given skills and a few helpers.
//
// Why each piece exists:
// - `lockdown()` freezes the realm's shared intrinsics and replaces every
//   `Function.prototype.constructor` (and the async/generator ones) with a function that throws.
//   A `vm` context was no boundary: any host object handed to a program (the bot, a Vec3, an
//   array or promise a host call returned, a host error) led through `.constructor.constructor`
//   to the host's `Function`, hence `process` and `child_process`. After lockdown that chain
//   ends in a throw for every object of the process, and a Compartment's globals hold nothing
//   but what it is given. `process`, `require`, `import()` and code from strings are refused
//   with a message saying what to write instead.
// - acorn parses first (as strict code, which is how compartments run it), so syntax errors come
//   back with their line before anything moves, and `import()`/`import`/`export` are refused.
// - Loops, function bodies and expression-bodied arrows get an inline guard (same line, so
//   line numbers stay true) that throws once the step is stopped: a synchronous `while (true) {}`
//   or an endless promise chain would otherwise hold Node's only thread. Guards also make every
//   function of a program inert once its step has ended (a leftover listener throws at once).
// - The bot is handed over through a Proxy bound to this run: once the run is stopped
//   (timeout, stuck, disconnect) any further use of `bot` throws, so a program that
//   kept a promise alive cannot act after its step ended.
// - Each unit carries a `//# sourceURL=lifelong:...`, so stack frames map back to the line of
//   the program, skill or primitive that failed.
// - Exceptions from a program's timers and listeners end its step with that error; its
//   unhandled rejections are reported with the step. Neither can take the bot process down.
// What this does not stop: a synchronous built-in that never returns (a catastrophic regular
// expression, a huge allocation); the Node flags and env.py's watchdog cover those. Node's
// permission model (no child processes, no writes, reads only of the code it runs) is the next
// layer in case this one is ever bypassed.
'use strict'
const crypto = require('crypto')
const path = require('path')
const modules = path.join(__dirname, '..', 'node_modules')
const acorn = require(path.join(modules, 'acorn'))
const { watchStall, PROGRESS_BLOCKS } = require('./stall')
const { clockOf } = require('./clock')

const RESERVED = '__lifelong_'
const GUARD = '__lifelong_guard'
const AT = '__lifelong_at'
const TYPEOF = '__lifelong_typeof'
/** Text order of the inserts that land at one position (lowest first). */
const ORDER = { paren: 0, brace: 1, loopOpen: 2, arrowOpen: 3, atOpen: 4, typeofOpen: 5, guard: 6 }
const EXPORT = '__lifelong_export'
const PROGRAM_FILE = 'lifelong:program.js'
const LOOPS = new Set(['WhileStatement', 'DoWhileStatement', 'ForStatement', 'ForInStatement', 'ForOfStatement'])
const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'])
const CHAT_LINES = 100
const CHAT_WIDTH = 256
const LOG_WIDTH = 1000

/**
 * Lock the realm down once (idempotent). Options, each for a reason found in this project:
 * - errorTaming 'unsafe' + stackFiltering 'verbose': errors keep V8's `stack` with every frame,
 *   which describeError maps back to program/skill lines. (Stacks only leak file paths.)
 * - overrideTaming 'severe': mineflayer and its dependencies assign over properties inherited
 *   from frozen intrinsics (`obj.toString = ...`, the "override mistake"); severe makes all of
 *   those assignable on the instance.
 * - evalTaming 'unsafe-eval': protodef (minecraft-protocol's packet codecs) compiles code with a
 *   *direct* eval that reads its local scope (protodef/src/compiler.js `compile`). This only
 *   keeps the start compartment's own `eval`/`Function`; programs never see them: a
 *   compartment has its own evaluators (which we replace by refusals), and lockdown has already
 *   cut `Function.prototype.constructor`, the only way from an object to an evaluator.
 * - consoleTaming 'unsafe', errorTrapping/unhandledRejectionTrapping 'none', reporting 'none':
 *   index.js owns the console (library noise must not reach JSPyBridge's stdout/stderr
 *   protocol) and this file owns the process-level fault handlers.
 */
const LOCKDOWN_OPTIONS = {
  errorTaming: 'unsafe',
  stackFiltering: 'verbose',
  overrideTaming: 'severe',
  evalTaming: 'unsafe-eval',
  consoleTaming: 'unsafe',
  errorTrapping: 'none',
  unhandledRejectionTrapping: 'none',
  reporting: 'none'
}

function ensureLockdown () {
  if (typeof globalThis.lockdown !== 'function') require(path.join(modules, 'ses'))
  if (!Object.isFrozen(Object.prototype)) {
    globalThis.lockdown(LOCKDOWN_OPTIONS)
    Error.stackTraceLimit = 50 // programs' errors name the line deep inside skills
  }
  return globalThis.harden
}

class ProgramStopped extends Error {
  constructor (reason) {
    super(reason)
    this.name = 'ProgramStopped'
  }
}

/** A rule a program broke, found before it runs: named, with what to write instead. */
function ruleError (message, code, node, where) {
  const line = node.loc.start.line
  const text = (code.split('\n')[line - 1] || '').trim()
  return { type: 'SandboxError', message: `SandboxError: ${message} (line ${line} of ${where}: ${text})`, line, code: text, source: where }
}

const MODULE_RULE = 'programs cannot load modules or files: `import`/`import()`/`export` are not available. Use the globals they are given: bot, the primitives (mineBlock, craftItem, ...), mcData, Vec3 and the pathfinder goals'

/**
 * Parse with acorn as strict code (compartments evaluate strict code, so errors such as an
 * undeclared `with` or an octal literal are caught here, with their line); on failure return a
 * message that names the line and shows it. Module syntax is refused by rule.
 */
function parse (code, where) {
  let ast
  try {
    // sourceType 'module' is acorn's way to parse strict code; module syntax is refused below.
    ast = acorn.parse(code, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      allowAwaitOutsideFunction: true,
      allowReturnOutsideFunction: true,
      allowImportExportEverywhere: true,
      locations: true
    })
  } catch (err) {
    const line = err.loc ? err.loc.line : null
    const text = line ? (code.split('\n')[line - 1] || '').trim() : ''
    let msg = String(err.message).replace(/\s*\(\d+:\d+\)$/, '')
    if (/strict mode|Octal|'with'/i.test(msg)) msg += ' (programs run as strict JavaScript)'
    return {
      error: { type: 'SyntaxError', message: `SyntaxError: ${msg} at line ${line} of ${where}: ${text}`, line, code: text, source: where }
    }
  }
  let refused = null
  walk(ast, (node) => {
    if (refused) return
    if (node.type === 'Identifier' && node.name.startsWith(RESERVED)) {
      refused = ruleError(`names starting with ${RESERVED} are reserved for the runner (its guards keep programs stoppable); rename ${node.name}`, code, node, where)
    } else if (node.type === 'ImportExpression' || node.type === 'ImportDeclaration' || node.type.startsWith('Export') ||
        (node.type === 'MetaProperty' && node.meta.name === 'import')) {
      refused = ruleError(MODULE_RULE, code, node, where)
    }
  })
  return refused ? { error: refused } : { ast }
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
 * Rewrite code so it can be stopped: guards inside every loop and function body (an
 * expression-bodied arrow becomes `(guard(), expr)`), and top-level call statements blanked
 * out (Voyager runs only the declarations and calls the last async function itself).
 * Newlines are preserved so reported lines stay exact.
 */
function instrument (code, ast, filename = PROGRAM_FILE) {
  const edits = [] // [position, removeLength, insertText, order]: see ORDER
  const dropped = []
  const kept = []
  for (const stmt of ast.body) {
    if (stmt.type === 'ExpressionStatement' && !stmt.directive) {
      edits.push([stmt.start, stmt.end - stmt.start, code.slice(stmt.start, stmt.end).replace(/[^\n]/g, ' '), 0])
      dropped.push(stmt.loc.start.line)
    } else kept.push(stmt)
  }
  const file = JSON.stringify(filename)
  for (const stmt of kept) {
    walk(stmt, (node) => {
      if (LOOPS.has(node.type)) {
        const body = node.body
        if (body.type === 'BlockStatement') edits.push([body.start + 1, 0, `${GUARD}();`, ORDER.guard])
        else {
          edits.push([body.start, 0, `{${GUARD}();`, ORDER.loopOpen])
          edits.push([body.end, 0, '}', ORDER.brace])
        }
      } else if (FUNCTIONS.has(node.type)) {
        if (node.body.type === 'BlockStatement') edits.push([node.body.start + 1, 0, `${GUARD}();`, ORDER.guard])
        else {
          // `() => next()` chained through promises never reaches a loop or a block body.
          edits.push([node.body.start, 0, `(${GUARD}(),`, ORDER.arrowOpen])
          edits.push([node.body.end, 0, ')', ORDER.paren])
        }
      } else if (node.type === 'AwaitExpression' && node.argument) {
        // await AT(file, line, x): a rejection from host code (a pathfinder goal, a dig) carries
        // no frame of ours in its stack; this notes which line was awaiting it.
        edits.push([node.argument.start, 0, `${AT}(${file},${node.loc.start.line},`, ORDER.atOpen])
        edits.push([node.argument.end, 0, ')', ORDER.paren])
      } else if (node.type === 'UnaryExpression' && node.operator === 'typeof' && node.argument.type === 'Identifier') {
        // An undeclared name throws in a compartment (see undeclaredNames); `typeof x` must not.
        edits.push([node.start, 0, `${TYPEOF}(()=>`, ORDER.typeofOpen])
        edits.push([node.end, 0, ')', ORDER.paren])
      }
    })
  }
  // Later positions first. At one position the last insert lands first in the text, so edits
  // there are applied from the highest ORDER down: closers before openers (`)}`, `)AT(`), inner
  // closers first, outer openers first (`{guard();AT(`).
  edits.sort((a, b) => b[0] - a[0] || b[3] - a[3])
  let out = code
  for (const [pos, len, text] of edits) out = out.slice(0, pos) + text + out.slice(pos + len)
  return { source: out, dropped }
}

/** Names of the top-level async functions, in order; the last one is the program's entry. */
function asyncFunctions (ast) {
  return ast.body.filter(s => s.type === 'FunctionDeclaration' && s.async).map(s => s.id.name)
}

/** The function runProgram calls: the last top-level async function (Voyager's rule), or null. */
function mainOf (functions) {
  return functions.length ? functions[functions.length - 1] : null
}

/** A parameter as written: its name (a default value dropped), else its source text. */
function paramText (code, p) {
  if (p.type === 'Identifier') return p.name
  if (p.type === 'AssignmentPattern' && p.left.type === 'Identifier') return p.left.name
  return code.slice(p.start, p.end)
}

/**
 * Names called as `name(...)` that the code does not declare anywhere (so primitives, library
 * skills, globals), each once, in the order they first appear. A declared name (function, class,
 * variable, parameter, catch binding) is the program's own, never a library skill's. One walk.
 */
function calledNames (ast) {
  const own = new Set()
  const called = []
  const collect = (pattern) => patternNames(pattern).forEach(n => own.add(n))
  walk(ast, (node) => {
    if ((FUNCTIONS.has(node.type) || node.type === 'ClassDeclaration') && node.id) own.add(node.id.name)
    if (FUNCTIONS.has(node.type)) node.params.forEach(collect)
    else if (node.type === 'VariableDeclarator') collect(node.id)
    else if (node.type === 'CatchClause') collect(node.param)
    else if (node.type === 'CallExpression' && node.callee.type === 'Identifier') called.push(node.callee.name)
  })
  return [...new Set(called)].filter(name => !own.has(name))
}

/**
 * What Python needs to know of a program before running it, decided here so that it is the
 * runner's own decision (lifelong/minecraft/program.py asks through bridges/bot/parse.js):
 * {functions: [{name, params}], main, calls} with the top-level async functions in order, or
 * {error} when runProgram would refuse the code (a syntax error, a reserved name, modules).
 */
function describeProgram (code) {
  const parsed = parse(code, 'the program')
  if (parsed.error) return { error: parsed.error }
  const declared = parsed.ast.body.filter(s => s.type === 'FunctionDeclaration' && s.async)
  const functions = declared.map(f => ({ name: f.id.name, params: f.params.map(p => paramText(code, p)) }))
  return { functions, main: mainOf(asyncFunctions(parsed.ast)), calls: calledNames(parsed.ast) }
}

/** Every name a unit declares at its top level (functions, classes, var/let/const patterns). */
function topLevelNames (ast) {
  const names = []
  for (const stmt of ast.body) {
    if ((stmt.type === 'FunctionDeclaration' || stmt.type === 'ClassDeclaration') && stmt.id) names.push(stmt.id.name)
    else if (stmt.type === 'VariableDeclaration') stmt.declarations.forEach(d => names.push(...patternNames(d.id)))
  }
  return [...new Set(names)]
}

/** The names a binding pattern declares (`a`, `{a, b: [c]}`, `...d`, `e = 1`). */
function patternNames (pattern, out = []) {
  if (!pattern) return out
  if (pattern.type === 'Identifier') out.push(pattern.name)
  else if (pattern.type === 'ObjectPattern') pattern.properties.forEach(p => patternNames(p.type === 'RestElement' ? p.argument : p.value, out))
  else if (pattern.type === 'ArrayPattern') pattern.elements.forEach(e => patternNames(e, out))
  else if (pattern.type === 'RestElement') patternNames(pattern.argument, out)
  else if (pattern.type === 'AssignmentPattern') patternNames(pattern.left, out)
  return out
}

const scriptCache = new Map()
const CACHE_LIMIT = 4096

/**
 * Parse + instrument once per distinct source. The result is the text a compartment
 * evaluates: the unit, then (on new lines, so its own lines keep their numbers) a call that
 * publishes its top-level names as globals, as a `vm` context did for scripts, so programs,
 * skills and primitives see each other; then its sourceURL.
 */
function compile (code, filename, where, { trusted = false } = {}) {
  const key = crypto.createHash('sha1').update(filename).update('\0').update(code).digest('hex')
  const hit = scriptCache.get(key)
  if (hit) return hit
  const parsed = parse(code, where)
  let entry
  if (parsed.error) entry = { error: parsed.error }
  else {
    const { source, dropped } = trusted ? { source: code, dropped: [] } : instrument(code, parsed.ast, filename)
    const names = topLevelNames(parsed.ast)
    entry = {
      filename,
      source: `${source}\n;${EXPORT}({${names.join(',')}});\n//# sourceURL=${filename}\n`,
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

/** A frame's function name as the program wrote it: a compartment calls its globals with the
 * global object as `this` (V8 prints `Object.mineBlock`), and top-level code is `Object.eval`. */
function frameFunction (name) {
  if (!name || name === 'Object.eval' || name === 'eval') return null
  return name.replace(/^Object\./, '')
}

/** What to write instead, for errors the language layer raises at run time: [name, text, hint]. */
const HINTS = [
  [/TypeError/, /Function\.prototype\.constructor is not a valid constructor|\bsecure mode\b/,
    'programs cannot make code from strings or reach the host through constructors; write the code directly and use the globals they are given (bot, the primitives, mcData, Vec3, the pathfinder goals)'],
  [/TypeError/, /not extensible|read[- ]only|Cannot (add|assign to|define|delete) property/i,
    'built-in objects (Object, Array, Math, ...), Vec3 and the goal classes are frozen with their prototypes; keep your own helpers in your own variables, and for a custom goal write a subclass: class MyGoal extends GoalNear { isEnd (node) { ... } }'],
  [/SyntaxError/, /SES_IMPORT_REJECTED/, 'the text `import(` may not appear even in a string or comment; reword it'],
  [/SyntaxError/, /SES_HTML_COMMENT_REJECTED/, 'the text `<!--` or `-->` may not appear even in a string or comment; reword it']
]

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
    frames.push({ source: file.where, file: m[1], line: lineNo, function: frameFunction(fn), code: (file.lines[lineNo - 1] || '').trim() })
  }
  // SES's own source checks (an `import(` or `-->` in a string or comment) name only file:line.
  const rejected = /at (lifelong:[^\s:]+):(\d+)\. \(SES_/.exec(text)
  if (!frames.length && rejected && files.has(rejected[1])) {
    const file = files.get(rejected[1])
    const lineNo = Number(rejected[2])
    frames.push({ source: file.where, file: rejected[1], line: lineNo, function: null, code: (file.lines[lineNo - 1] || '').trim() })
  }
  if (!frames.some(f => f.file === PROGRAM_FILE) && err && typeof err === 'object' && awaits.has(err)) {
    for (const a of awaits.get(err)) {
      const file = files.get(a.file)
      if (file) frames.push({ source: file.where, file: a.file, line: a.line, function: null, code: (file.lines[a.line - 1] || '').trim() })
    }
  }
  const programFrame = frames.find(f => f.file === PROGRAM_FILE) || null
  let message = `${name}: ${text}`
  const hint = HINTS.find(([kind, re]) => kind.test(name) && re.test(text))
  if (hint) message += ` (${hint[2]})`
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

/** Stands for eval/Function/Compartment (callable and `new`-able, so both forms get the message). */
function codeFromStrings (what) {
  return function refused () {
    throw new EvalError(`Code generation from strings disallowed for this context: ${what} is not available to programs (write the code directly; the runner must see it to keep it stoppable)`)
  }
}

/**
 * The last `max` lines, each cut to `width` characters, with a first line saying how many
 * were dropped: a program printing in a loop must not flood the observation (or the prompt).
 */
function capLines (lines, { max = CHAT_LINES, width = CHAT_WIDTH, dropped = 0, what = 'chat' } = {}) {
  const cut = (s) => (s.length > width ? `${s.slice(0, width - 1)}…` : s)
  const kept = lines.slice(-max).map(line => cut(String(line)))
  const lost = dropped + Math.max(0, lines.length - max)
  if (lost) kept.unshift(`[${lost} earlier ${what} lines dropped: a step returns its last ${max} ${what} lines of at most ${width} characters; print less]`)
  return kept
}

/** Append to a line list without letting it grow without bound; returns how many it dropped. */
function pushBounded (list, text, width) {
  list.push(text.length > width ? text.slice(0, width) : text)
  if (list.length <= 4 * CHAT_LINES) return 0
  const n = list.length - CHAT_LINES
  list.splice(0, n)
  return n
}

/** State of one step: cancelled flag, chat lines and listeners/timers the program created. */
class Run {
  constructor (chat) {
    this.cancelled = false
    this.reason = null
    this.chat = chat || []
    this.chatDropped = 0
    this.logs = []
    this.logsDropped = 0
    this.saves = []
    this.listeners = []
    this.timers = new Set()
    this.onCancel = []
    this.deadline = Infinity
    this.timeoutReason = null
    this.failure = null // first exception thrown by a timer or listener of the program
    this.background = [] // unhandled rejections while it ran
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

  /** A callback of the program (timer, listener) threw: that ends the step, with its error. */
  fail (err) {
    if (this.cancelled || err instanceof ProgramStopped) return
    this.failure = err
    this.cancel(`a timer or listener of the program threw: ${err && err.message}`)
  }

  /** Call a program callback so that its exception (or rejection) fails this run, never Node. */
  callback (fn, args) {
    if (this.cancelled) return undefined
    try {
      const value = fn(...args)
      if (value && typeof value.then === 'function') value.then(undefined, (err) => this.fail(err))
      return value
    } catch (err) {
      this.fail(err)
      return undefined
    }
  }
}

/**
 * The process-level handlers: a program's stray rejection (an un-awaited `bot.dig`) or a
 * library's exception must never end the bot's Node process. While a step runs they are
 * reported with it; otherwise kept for the next observation (`takeBackgroundErrors`).
 */
const activeRuns = new Set()
const background = []
let handlersInstalled = false
function installFaultHandlers () {
  if (handlersInstalled) return
  handlersInstalled = true
  const note = (err) => {
    const text = String((err && err.message) || err)
    const run = [...activeRuns].pop()
    if (run) {
      if (run.background.length < 20) run.background.push({ error: err, text })
    } else if (background.length < 20) background.push(text)
  }
  process.on('unhandledRejection', note)
  process.on('uncaughtException', note)
}

function takeBackgroundErrors () {
  return background.splice(0)
}

const BOT_INTEGRITY = 'programs cannot redefine, delete, freeze or re-prototype properties of the bot; set plain properties or keep your own state in variables'

/** The `bot` a program sees: the real bot, but stoppable and with chat/listeners recorded. */
function botProxy (bot, run) {
  const wrappers = new Map() // program listener -> the wrapper registered on the bot
  const track = (method) => (event, fn) => {
    if (typeof fn !== 'function') throw new TypeError(`bot.${method}(event, listener): the listener must be a function`)
    const wrapped = (...args) => run.callback(fn, args)
    wrappers.set(fn, wrapped)
    run.listeners.push([event, wrapped])
    bot[method](event, wrapped)
    return proxy
  }
  const untrack = (event, fn) => {
    bot.removeListener(event, wrappers.get(fn) || fn)
    return proxy
  }
  const refuse = (what, why) => () => { throw new Error(`${what} is not available to programs: ${why}`) }
  const overrides = {
    chat (message) {
      const text = String(message)
      if (text.startsWith('/') && !run.allowCommands) {
        throw new Error(`server commands such as ${JSON.stringify(text.split(' ')[0])} are not available to programs: get items by mining, crafting, smelting and killing mobs with the primitives`)
      }
      run.chatDropped += pushBounded(run.chat, text, CHAT_WIDTH)
      // The game protocol caps a chat message at 256 characters; longer ones get the client kicked.
      if (bot._client && bot._client.socket && !bot._client.socket.destroyed) bot.chat(text.slice(0, 250))
    },
    save (event) { run.saves.push(String(event)) }, // Voyager's bot.save(eventName) marker
    quit: refuse('bot.quit()', 'the environment owns the connection'),
    end: refuse('bot.end()', 'the environment owns the connection'),
    removeAllListeners: refuse('bot.removeAllListeners()', "it would remove the bot's own listeners; remove yours with bot.off(event, listener)"),
    on: track('on'),
    once: track('once'),
    addListener: track('on'),
    prependListener: track('prependListener'),
    prependOnceListener: track('prependOnceListener'),
    off: untrack,
    removeListener: untrack
  }
  const integrity = () => { throw new TypeError(BOT_INTEGRITY) }
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
    },
    defineProperty: integrity,
    deleteProperty: integrity,
    preventExtensions: integrity,
    setPrototypeOf: integrity
  })
  return proxy
}

/**
 * A fresh compartment for one step: the helpers, the bot proxy, console and tracked timers;
 * `require`, `process` & co. and the evaluators (eval, Function, Compartment) refuse with a
 * message. `Math` and `Date` are the real ones: compartments otherwise get versions without
 * `Math.random()` and `Date.now()`, which programs use.
 */
function makeCompartment (run, bot, helpers) {
  const fmt = (args) => args.map(a => (typeof a === 'string' ? a : safeJson(a))).join(' ')
  const log = (...a) => { run.logsDropped += pushBounded(run.logs, fmt(a), LOG_WIDTH) }
  const timer = (setFn, clearFn) => (fn, ms, ...args) => {
    if (typeof fn !== 'function') throw new TypeError('setTimeout/setInterval need a function (code from strings is not available to programs)')
    const handle = setFn(() => run.callback(fn, args), clockOf(bot).realMs(ms)) // game ms (clock.js)
    run.timers.add([handle, clearFn])
    return handle
  }
  const guard = () => run.check()
  const typeOf = (read) => {
    try { return read() } catch (err) {
      if (err instanceof ReferenceError) return 'undefined'
      throw err
    }
  }
  const at = (file, line, value) => {
    if (!value || typeof value.then !== 'function') return value
    return Promise.resolve(value).catch((err) => {
      if (err && typeof err === 'object') {
        const list = run.awaits.get(err) || []
        list.push({ file, line })
        run.awaits.set(err, list)
      }
      throw err
    })
  }
  const globals = {
    ...helpers,
    Math,
    Date: clockOf(bot).makeDate(), // game time at time scale K (clock.js)
    bot: botProxy(bot, run),
    console: { log, info: log, warn: log, error: log, debug: log },
    setTimeout: timer(setTimeout, clearTimeout),
    setInterval: timer(setInterval, clearInterval),
    clearTimeout: (h) => clearTimeout(h),
    clearInterval: (h) => clearInterval(h),
    // For primitives that can recover from a stalled path before the stuck detector ends the
    // run: watches the real bot (the program's proxy throws once the run stops) and ends with the step.
    _watchStall: (seconds, onStall) => {
      const unwatch = watchStall(bot, seconds * 1000, () => { if (!run.cancelled) run.callback(onStall, []) })
      run.timers.add([null, unwatch])
      return unwatch
    },
    require: (name) => { throw sandboxError(`require(${JSON.stringify(name)})`) },
    eval: codeFromStrings('eval'),
    Function: codeFromStrings('new Function()'),
    Compartment: codeFromStrings('Compartment'),
    lockdown: undefined
  }
  const compartment = new Compartment({ name: 'lifelong program', globals, __options__: true })
  const g = compartment.globalThis
  Object.setPrototypeOf(g, undeclaredNames())
  for (const name of ['process', 'module', 'exports', 'Buffer', 'fetch', 'global']) {
    if (Object.prototype.hasOwnProperty.call(helpers, name)) continue // the host chose to give it (tests)
    Object.defineProperty(g, name, { get () { throw sandboxError(name) }, enumerable: false, configurable: false })
  }
  const exportNames = (names) => {
    for (const [k, v] of Object.entries(names)) {
      try { Object.defineProperty(g, k, { value: v, writable: true, enumerable: false, configurable: true }) } catch (_) {}
    }
  }
  // The runner's own hooks: fixed, so a program cannot swap the guard for a no-op.
  for (const [name, value] of [[EXPORT, exportNames], [GUARD, guard], [AT, at], [TYPEOF, typeOf]]) {
    Object.defineProperty(g, name, { value, writable: false, enumerable: false, configurable: false })
  }
  return compartment
}

/**
 * The prototype of a compartment's global object. SES ends a compartment's scope with a
 * terminator that reads every undeclared name as `undefined`, so a misspelled skill would
 * surface as "x is not a function" or a silent NaN; with this in the global's prototype chain
 * every name is found here and an unknown one throws "x is not defined", as in plain
 * JavaScript. (It also makes an assignment to an undeclared name create a global, as the old
 * sloppy `vm` scripts did, instead of throwing.)
 */
function undeclaredNames () {
  return new Proxy(Object.create(Object.prototype), {
    has: () => true,
    get (target, prop, receiver) {
      if (typeof prop === 'symbol' || prop in target) return Reflect.get(target, prop, receiver)
      throw new ReferenceError(`${prop} is not defined (not a variable, a primitive, a helper or a skill given to this program)`)
    }
  })
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

/** Compile the program, the primitives and the skills; {units, program} or {error}. */
function compileAll (o, files) {
  const program = compile(o.code, PROGRAM_FILE, 'the program')
  if (program.error) return { error: program.error }
  if (program.functions.length === 0) {
    return {
      error: {
        type: 'ProgramError',
        message: 'ProgramError: no async function found. Write the program as `async function name(bot) { ... }`; the last async function is the one that runs.',
        line: null,
        code: null,
        source: 'the program'
      }
    }
  }
  const units = []
  for (const p of o.primitives || []) units.push(compile(p.code, `lifelong:primitives/${p.file}`, `primitive ${p.file}`, { trusted: true }))
  for (const s of o.skills || []) units.push(compile(s.code, `lifelong:skills/${s.name}.js`, `skill ${s.name}`))
  const bad = units.find(u => u.error)
  if (bad) return { error: bad.error }
  units.push(program)
  for (const u of units) files.set(u.filename, u)
  return { units, program }
}

/**
 * Run one program. Returns {ok, error, chat, logs, saves, elapsed_ms, stopped, background_errors}.
 * @param {object} o
 * @param {object} o.bot the real mineflayer bot
 * @param {string} o.code the program
 * @param {{name:string, code:string}[]} o.skills library skills (already limited to what is needed)
 * @param {{file:string, code:string}[]} o.primitives primitive sources (trusted)
 * @param {object} o.helpers extra globals (mcData, Vec3, goals, ...)
 * @param {number} o.timeoutMs the step's time limit, game ms (from Python: lifelong/minecraft/limits.py)
 * @param {number} [o.stuckMs] no-progress limit while moving, game ms (from Python, as above; the
 *   20000 below is only a fallback for standalone callers such as the Node tests)
 * @param {string[]} [o.chat] where chat lines go (shared with the server's messages, in order)
 * @param {boolean} [o.allowCommands] let programs send /commands (tests, tools); off for agents,
 *   whose programs must not /give themselves what the task asks for
 */
async function runProgram (o) {
  ensureLockdown()
  installFaultHandlers()
  const started = Date.now()
  const run = new Run(o.chat)
  run.allowCommands = Boolean(o.allowCommands)
  const files = new Map()
  const result = (extra) => ({
    ok: false,
    error: null,
    chat: capLines(run.chat, { dropped: run.chatDropped }),
    chat_dropped: run.chatDropped,
    logs: capLines(run.logs, { width: LOG_WIDTH, dropped: run.logsDropped, what: 'log' }),
    saves: run.saves,
    stopped: run.reason,
    elapsed_ms: Date.now() - started,
    background_errors: run.background.map(b => describeError(b.error, files, run.awaits).message),
    ...extra
  })

  const compiled = compileAll(o, files)
  if (compiled.error) return result({ error: compiled.error })
  const bot = o.bot
  const compartment = makeCompartment(run, bot, o.helpers || {})
  const mainName = mainOf(compiled.program.functions)
  let main
  // Top-level code (declarations, constant tables) gets 1 s, enforced by the same guards.
  run.timeoutReason = 'the top-level code of the program or a skill ran for more than 1 s; keep work inside the async function'
  run.deadline = Date.now() + 1000
  try {
    for (const u of compiled.units) compartment.evaluate(u.source, { __rejectSomeDirectEvalExpressions__: false })
    main = compartment.globalThis[mainName]
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
  activeRuns.add(run)

  let outcome
  let stoppedReason = null
  const programPromise = Promise.resolve().then(() => main(compartment.globalThis.bot)).then(
    () => ({ ok: true }),
    (err) => ({ ok: false, err })
  )
  try {
    outcome = await Promise.race([programPromise, stoppedPromise.then(reason => ({ ok: false, stopped: reason }))])
    if (outcome.stopped && run.failure) outcome = { ok: false, err: run.failure }
    else if (outcome.stopped) {
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
    // Rejections of this step's promises surface after a turn of the event loop.
    setImmediate(() => activeRuns.delete(run))
  }
  if (outcome.ok && !run.failure) return result({ ok: true, stopped: null })
  if (outcome.err || run.failure) {
    const err = run.failure || outcome.err
    const error = describeError(err, files, run.awaits)
    if (err && err.name === 'ProgramStopped') error.type = 'ProgramStopped'
    return result({ error, stopped: stoppedReason })
  }
  return result({
    error: { type: 'ProgramStopped', message: `ProgramStopped: program stopped: ${outcome.stopped}`, line: null, code: null, source: null, frames: [] },
    stopped: stoppedReason
  })
}

module.exports = {
  runProgram,
  describeProgram,
  installFaultHandlers,
  compile,
  parse,
  instrument,
  describeError,
  capLines,
  ensureLockdown,
  takeBackgroundErrors,
  ProgramStopped,
  halt,
  LOCKDOWN_OPTIONS
}
