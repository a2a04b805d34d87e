#!/usr/bin/env node
'use strict'
// Launcher of the embedded flying-squid server. Python (lifelong/minecraft/server.py) is the
// only caller: it passes settings as flags (or --config JSON), points stdin at /dev/null and
// waits until the port accepts a login.
//
//   node bridges/server/index.js --port 25565 --seed 42 --world worlds/demo [--version 1.21.1]
//        [--log FILE] [--view-distance 6] [--difficulty easy] [--no-daylight-cycle]
//        [--keep-inventory] [--op NAME,NAME | --op '*'] [--time-scale K] [--config settings.json]
//
// Every .js file in bridges/server/plugins/ that exports flying-squid hooks (server, player,
// entity) is loaded by absolute path, so new plugins need no change here.
// SIGINT/SIGTERM: kick players (their data is saved), flush chunks and level data, exit 0.

const fs = require('fs')
const path = require('path')
const { parseArgs } = require('util')

const { checkTimeScale } = require('../bot/clock')
const { checkWorldStyle } = require('./worldgen')

const SUPPORTED_VERSIONS = ['1.21.1']
const DIFFICULTIES = { peaceful: 0, easy: 1, normal: 2, hard: 3 }
const PLUGIN_DIR = path.join(__dirname, 'plugins')
const GENERATOR = path.join(__dirname, 'worldgen.js')

/** Exit with a message a user can act on (no stack trace). */
function fail (message, code = 2) {
  process.stderr.write(`lifelong server: ${message}\n`)
  process.exit(code)
}

function parseCli (argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      world: { type: 'string' },
      version: { type: 'string' },
      log: { type: 'string' },
      'view-distance': { type: 'string' },
      difficulty: { type: 'string' },
      'daylight-cycle': { type: 'boolean' },
      'no-daylight-cycle': { type: 'boolean' },
      'keep-inventory': { type: 'boolean' },
      'no-keep-inventory': { type: 'boolean' },
      op: { type: 'string' },
      'max-entities': { type: 'string' },
      mobs: { type: 'boolean' },
      'no-mobs': { type: 'boolean' },
      'time-scale': { type: 'string' },
      'world-style': { type: 'string' }
    },
    strict: true
  })
  let cfg = {}
  if (values.config) {
    try { cfg = JSON.parse(fs.readFileSync(values.config, 'utf8')) } catch (err) { fail(`cannot read --config ${values.config}: ${err.message}`) }
  }
  const pick = (flag, key, conv = v => v) => (values[flag] !== undefined ? conv(values[flag]) : cfg[key])
  const bool = (on, off, key, dflt) => values[on] ? true : values[off] ? false : (cfg[key] ?? dflt)
  // The defaults below are for running the launcher by hand: lifelong/minecraft/server.py passes
  // every setting it has (EmbeddedServer's fields hold the defaults lifelong uses).
  return {
    port: pick('port', 'port', Number) ?? 25565,
    host: pick('host', 'host') ?? '127.0.0.1',
    seed: pick('seed', 'seed'),
    world: pick('world', 'world') ?? 'worlds/default',
    version: pick('version', 'version') ?? '1.21.1',
    log: pick('log', 'log'),
    viewDistance: pick('view-distance', 'viewDistance', Number) ?? 6,
    difficulty: pick('difficulty', 'difficulty') ?? 'easy',
    doDaylightCycle: bool('daylight-cycle', 'no-daylight-cycle', 'doDaylightCycle', true),
    keepInventory: bool('keep-inventory', 'no-keep-inventory', 'keepInventory', false),
    ops: String(pick('op', 'op') ?? '*').split(',').map(s => s.trim()).filter(Boolean),
    maxEntities: pick('max-entities', 'maxEntities', Number) ?? 200,
    mobs: bool('mobs', 'no-mobs', 'mobs', true),
    timeScale: pick('time-scale', 'timeScale') ?? 1,
    worldStyle: pick('world-style', 'worldStyle') ?? 'grove'
  }
}

/** Validate everything before flying-squid starts, so errors name the fix. */
function validate (opts) {
  if (!SUPPORTED_VERSIONS.includes(opts.version)) {
    fail(`Minecraft version ${opts.version} is not supported; supported versions: ${SUPPORTED_VERSIONS.join(', ')}`)
  }
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) fail(`--port must be 1-65535, got ${opts.port}`)
  const diff = typeof opts.difficulty === 'number' ? opts.difficulty : DIFFICULTIES[String(opts.difficulty).toLowerCase()]
  if (diff === undefined) fail(`--difficulty must be one of ${Object.keys(DIFFICULTIES).join(', ')}, got ${opts.difficulty}`)
  opts.difficulty = diff
  if (!(opts.viewDistance >= 2 && opts.viewDistance <= 32)) fail(`--view-distance must be 2-32, got ${opts.viewDistance}`)
  if (opts.seed !== undefined && opts.seed !== null && !/^-?\d+$/.test(String(opts.seed))) fail(`--seed must be an integer, got ${opts.seed}`)
  try { opts.timeScale = checkTimeScale(opts.timeScale) } catch (err) { fail(`--time-scale: ${err.message}`) }
  try { checkWorldStyle(opts.worldStyle) } catch (err) { fail(`--world-style: ${err.message}`) }
}

/** Plugin files: every .js in plugins/ exporting a server, player or entity hook. */
function discoverPlugins () {
  const plugins = {}
  if (!fs.existsSync(PLUGIN_DIR)) return plugins
  for (const file of fs.readdirSync(PLUGIN_DIR).sort()) {
    if (!file.endsWith('.js')) continue
    const full = path.join(PLUGIN_DIR, file)
    const mod = require(full)
    if (mod && (mod.server || mod.player || mod.entity)) plugins[full] = {}
  }
  return plugins
}

/** Options of our generator: the seed (if given) and the world style (only if not the default). */
function generationOptions (opts) {
  const options = opts.seed !== undefined && opts.seed !== null ? { seed: Number(opts.seed) } : {}
  if ((opts.worldStyle ?? 'grove') !== 'grove') options.worldStyle = opts.worldStyle
  return options
}

/** flying-squid settings for validated launcher options (world must be an absolute path). */
function buildSettings (opts) {
  return {
    motd: 'lifelong embedded world',
    port: opts.port,
    host: opts.host ?? '127.0.0.1',
    'max-players': 20,
    'online-mode': false,
    logging: false,
    noConsoleOutput: true,
    gameMode: 0,
    difficulty: opts.difficulty,
    worldFolder: opts.world,
    generation: { name: GENERATOR, options: generationOptions(opts) },
    kickTimeout: 30000,
    plugins: discoverPlugins(),
    modpe: false,
    'view-distance': opts.viewDistance ?? 6,
    'player-list-text': { header: { text: 'lifelong' }, footer: { text: '' } },
    'everybody-op': (opts.ops ?? ['*']).includes('*'),
    'max-entities': opts.maxEntities ?? 200,
    version: opts.version ?? '1.21.1',
    lifelong: {
      ops: opts.ops ?? ['*'],
      doDaylightCycle: opts.doDaylightCycle ?? true,
      keepInventory: opts.keepInventory ?? false,
      mobs: opts.mobs ?? true,
      timeScale: opts.timeScale ?? 1
    }
  }
}

/**
 * Start flying-squid with our generator and plugins; returns the server (flying-squid's
 * MCServer). `logLine(text)` receives every log line. Used by main() and by node tests.
 */
function createServer (opts, logLine = () => {}) {
  const mcServer = require('flying-squid')
  const stamp = () => new Date().toISOString()
  const serv = mcServer.createMCServer(buildSettings(opts))
  serv.log = message => logLine(`${stamp()} ${String(message).replace(/\x1b\[[0-9;]*m/g, '')}`) // eslint-disable-line no-control-regex
  return serv
}

function openLog (file) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const fd = fs.openSync(file, 'a')
  return line => fs.writeSync(fd, line + '\n')
}

function main () {
  const opts = parseCli(process.argv.slice(2))
  validate(opts)
  const world = path.resolve(opts.world)
  fs.mkdirSync(world, { recursive: true })
  const logLine = openLog(path.resolve(opts.log ?? path.join(world, 'server.log')))
  const stamp = () => new Date().toISOString()
  logLine(`${stamp()} [launcher] starting: ${JSON.stringify({ ...opts, world })}`)

  const holder = { serv: null }
  installSignalHandlers(holder, logLine, stamp)
  disableExitHook()
  let serv
  try {
    serv = holder.serv = createServer({ ...opts, world }, logLine)
  } catch (err) {
    fail(err.message)
  }
  serv.on('error', err => {
    if (err && err.code === 'EADDRINUSE') {
      logLine(`${stamp()} [launcher] port ${opts.port} is already in use`)
      fail(`port ${opts.port} is already in use; stop the process using it or pass another --port`, 3)
    }
    logLine(`${stamp()} [error] ${err && err.stack}`)
  })
  serv.on('ready', () => {
    logLine(`${stamp()} [launcher] ready on port ${opts.port}`)
  })
}

/**
 * flying-squid registers `exit-hook`, which calls process.exit on SIGINT/SIGTERM before the
 * world is saved. Pre-seed the module cache with a no-op so our awaited shutdown runs instead.
 */
function disableExitHook () {
  const fsDir = path.dirname(require.resolve('flying-squid/package.json'))
  const file = require.resolve('exit-hook', { paths: [fsDir] })
  const Module = require('module')
  const mod = new Module(file)
  mod.filename = file
  mod.loaded = true
  mod.exports = () => () => {}
  Module._cache[file] = mod
}

/** Replace flying-squid's exit-hook (which exits before saving) with an awaited save. */
function installSignalHandlers (holder, logLine, stamp) {
  let stopping = false
  const stop = async signal => {
    if (stopping) return
    stopping = true
    logLine(`${stamp()} [launcher] ${signal}: saving world and stopping`)
    const timer = setTimeout(() => { logLine(`${stamp()} [launcher] save timed out`); process.exit(1) }, 15000)
    const serv = holder.serv
    if (!serv) process.exit(0) // flying-squid not loaded yet: nothing to save
    try {
      if (!serv.isReady) await serv.waitForReady(10000).catch(() => {})
      await saveWorld(serv)
      await Promise.race([serv.quit('Server stopped'), new Promise(resolve => setTimeout(resolve, 3000))])
      await Promise.all(serv.players.map(p => p.save?.().catch(() => {})))
      await serv.overworld?.waitSaving?.()
      logLine(`${stamp()} [launcher] saved; bye`)
    } catch (err) {
      logLine(`${stamp()} [launcher] error while stopping: ${err.stack}`)
    }
    clearTimeout(timer)
    process.exit(0)
  }
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.removeAllListeners(sig)
    process.on(sig, () => { stop(sig) })
  }
}

/** Flush players, chunks and plugin state (plugins listen to 'lifelongSave'). */
async function saveWorld (serv) {
  await Promise.all([...(serv.pendingSaves ?? [])].map(p => p.catch(() => {})))
  await Promise.all(serv.players.map(p => p.save().catch(() => {})))
  const waits = []
  serv.emit('lifelongSave', waits)
  await Promise.all(waits)
  if (serv.overworld) await serv.overworld.waitSaving()
}

if (require.main === module) main()

module.exports = { SUPPORTED_VERSIONS, DIFFICULTIES, parseCli, validate, buildSettings, createServer, discoverPlugins, saveWorld, disableExitHook }
