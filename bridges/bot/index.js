// The one JS entry Python drives (lifelong/minecraft/env.py, through JSPyBridge).
// `createBody()` returns a small API object; every method takes and returns plain
// strings/numbers (JSON for structures), so one env step is ONE bridge round trip.
// No agent logic lives here: it connects, resets, runs a program, and observes.
'use strict'
const fs = require('fs')
const path = require('path')
const { createBot, Movements, goals, Vec3 } = require('./create')
const { runProgram, ensureLockdown, installFaultHandlers, takeBackgroundErrors, capLines } = require('./runner')
const { observe, Memory } = require('./observe')
const { hardReset } = require('./reset')
const { startViewer } = require('./viewer')
const { clockOf } = require('./clock')

// Every module the bot needs is loaded; from here on the realm's intrinsics are frozen and no
// object leads to an evaluator (runner.js explains the options). Libraries keep working:
// lockdown changes what programs can reach, not what the host's own modules hold.
const harden = ensureLockdown()

const DEFAULT_PRIMITIVES = path.join(__dirname, '..', '..', 'skills', 'minecraft', 'primitives')
const modules = path.join(__dirname, '..', 'node_modules')

// Programs may leave promises or timers behind; their failures must never kill the bridge
// (runner.js's fault handlers report them with the step, or with the next observation).
let handlersInstalled = false
function installProcessHandlers () {
  if (handlersInstalled) return
  handlersInstalled = true
  installFaultHandlers()
  // If Python dies (kill -9), this process is orphaned and its bot would stay logged in,
  // blocking the next session's bot (same username); exit when the parent changes.
  const parent = process.ppid
  setInterval(() => { if (process.ppid !== parent) process.exit(0) }, 1000).unref()
  // Library warnings (deprecations, chunk parse notes) must not reach Python's stdout,
  // where they would break `--json` output; keep the last lines for debugging instead.
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    console[level] = (...args) => {
      bridgeLog.push(args.map(String).join(' '))
      if (bridgeLog.length > 200) bridgeLog.shift()
    }
  }
}
const bridgeLog = []

/** Read every primitive file once (sorted, so definitions load in a stable order). */
function loadPrimitives (dir) {
  return fs.readdirSync(dir)
    .filter(f => f.endsWith('.js'))
    .sort()
    .map(file => ({ file, code: fs.readFileSync(path.join(dir, file), 'utf8') }))
}

// The step's limits and the viewer's port come from Python (lifelong/minecraft/limits.py), in the
// options of each call: no defaults here, so the two sides cannot disagree. A missing one is a
// caller's bug, reported as such rather than run with a guess.
function required (opts, name, what) {
  const value = Number(opts[name])
  if (!(value > 0)) throw new Error(`${what}: ${name} is missing (${JSON.stringify(opts[name])}); the caller passes it (lifelong/minecraft/limits.py)`)
  return value
}

/**
 * The globals Voyager's programs expect: mcData, Vec3, Movements and each goal class. Vec3 and
 * the goal classes are hardened (frozen with their prototypes): they are shared by every step
 * and by the host's own code, so one program must not be able to rewrite them for the next.
 * mcData and Movements stay as they are: the host fills mcData's objects in lazily, and
 * programs customise Movements instances by assigning over their methods.
 */
function helpersFor (bot) {
  const mcData = require(path.join(modules, 'minecraft-data'))(bot.version)
  harden(Vec3)
  harden(goals)
  return { mcData, Vec3, Movements, goals, pathfinder: Object.freeze({ goals, Movements }), ...goals }
}

function createBody (config = {}) {
  installProcessHandlers()
  const cfg = typeof config === 'string' ? JSON.parse(config) : config
  const primitives = loadPrimitives(cfg.primitivesDir || DEFAULT_PRIMITIVES)
  const state = { bot: null, memory: null, helpers: null, chat: [], chatDropped: 0, connectOpts: null, viewer: null, scan: null }

  const alive = () => Boolean(state.bot && state.bot.entity && state.bot._client && !state.bot._client.ended)

  function onMessage (message, position, jsonMsg, sender) {
    const text = String(message)
    if (position === 'game_info') return // action-bar spam
    // Our own chat comes back from the server; the runner already recorded it.
    if (state.bot && text.startsWith(`<${state.bot.username}> `)) return
    state.chat.push(text)
    if (state.chat.length > 200) {
      state.chat.shift()
      state.chatDropped++
    }
  }

  function snapshot (extra = {}) {
    const obs = state.bot ? observe(state.bot, state.memory) : {}
    const faults = [...(extra.background_errors || []), ...takeBackgroundErrors()]
    delete extra.background_errors
    if (faults.length) extra.background_errors = faults
    const connected = alive()
    if (!connected && state.endReason) extra.disconnect_reason = state.endReason
    return { ...obs, ...extra, connected }
  }

  const api = {
    /** Connect (or reconnect) the bot. opts: {host, port, version, auth, username}. */
    async connect (optsJson) {
      const opts = JSON.parse(optsJson || '{}')
      await api.disconnect()
      const bot = await createBot(opts)
      state.bot = bot
      state.connectOpts = opts
      state.memory = new Memory(bot)
      state.helpers = helpersFor(bot)
      state.endReason = null
      bot.on('messagestr', onMessage)
      bot.on('kicked', (reason) => { state.endReason = `kicked: ${typeof reason === 'string' ? reason : JSON.stringify(reason)}` })
      bot.on('end', (reason) => { state.endReason = state.endReason || `connection ended: ${reason || 'unknown'}` })
      await bot.waitForChunksToLoad().catch(() => {})
      return JSON.stringify(snapshot({ chat: state.chat.splice(0) }))
    },

    /**
     * Run one program. skillsJson: [{name, code}] (only the skills it needs);
     * optsJson: {timeoutMs, stuckMs, allowCommands} (game ms; both limits required).
     * Returns the observation with ok/error/chat.
     */
    async step (code, skillsJson, optsJson) {
      if (!alive()) {
        return JSON.stringify({ connected: false, ok: false, error: { type: 'Disconnected', message: 'Disconnected: the bot is not connected; reset the environment.', line: null, code: null, source: null, frames: [] }, chat: [] })
      }
      const opts = JSON.parse(optsJson || '{}')
      const timeoutMs = required(opts, 'timeoutMs', 'step')
      const stuckMs = required(opts, 'stuckMs', 'step')
      const bot = state.bot
      state.chat.splice(0)
      state.chatDropped = 0
      const scan = clockOf(bot).setInterval(() => { try { state.memory.scan() } catch (_) {} }, 5000) // game ms
      let result
      try {
        result = await runProgram({
          bot,
          code,
          skills: JSON.parse(skillsJson || '[]'),
          primitives,
          helpers: state.helpers,
          timeoutMs,
          stuckMs,
          allowCommands: Boolean(opts.allowCommands),
          chat: state.chat
        })
      } finally {
        clearInterval(scan)
      }
      // At most 100 lines of 256 characters, with a note when more were said (runner.js capLines).
      const chat = capLines(state.chat.splice(0), { dropped: result.chat_dropped + state.chatDropped })
      return JSON.stringify(snapshot({
        ok: result.ok,
        error: result.error,
        chat,
        background_errors: result.background_errors,
        logs: result.logs,
        saves: result.saves,
        stopped: result.stopped,
        elapsed_ms: result.elapsed_ms
      }))
    },

    /** Hard reset: inventory and position as given (needs creative mode rights); soft: observe only. */
    async reset (optsJson) {
      const opts = JSON.parse(optsJson || '{}')
      if (!alive()) throw new Error('reset: the bot is not connected')
      if (opts.mode === 'hard') {
        await hardReset(state.bot, opts)
        state.memory.detach()
        state.memory = new Memory(state.bot)
      }
      return JSON.stringify(snapshot({ chat: state.chat.splice(0) }))
    },

    observe () { return JSON.stringify(snapshot()) },
    ping () { return 1 },
    log () { return JSON.stringify(bridgeLog) },
    pid () { return process.pid },
    /** Whether Node's permission model holds this process (env.py checks it at start). */
    confinement () {
      const p = process.permission
      return JSON.stringify({
        permission_model: Boolean(p),
        child_process: p ? p.has('child') : true,
        fs_write: p ? p.has('fs.write') : true,
        locked_down: Object.isFrozen(Object.prototype)
      })
    },
    connected () { return alive() },

    /** Serve prismarine-viewer on localhost:port (required) so a person can watch in a browser. */
    async viewer (port, firstPerson) {
      if (!alive()) throw new Error('viewer: the bot is not connected')
      if (state.viewer) return state.viewer.url
      state.viewer = await startViewer(state.bot, { port: required({ port }, 'port', 'viewer'), firstPerson: Boolean(firstPerson) })
      return state.viewer.url
    },

    async disconnect () {
      const bot = state.bot
      state.bot = null
      if (!bot) return
      try { if (state.memory) state.memory.detach() } catch (_) {}
      try { if (state.viewer) state.viewer.close() } catch (_) {}
      state.viewer = null
      bot.removeListener('messagestr', onMessage)
      await new Promise(resolve => {
        if (!bot._client || bot._client.ended) return resolve()
        const t = setTimeout(resolve, 2000)
        bot.once('end', () => { clearTimeout(t); resolve() })
        try { bot.quit() } catch (_) { clearTimeout(t); resolve() }
      })
    }
  }
  return api
}

module.exports = { createBody, loadPrimitives }
