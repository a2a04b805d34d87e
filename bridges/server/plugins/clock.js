'use strict'
// The world's clock at time scale K: ticks K times faster than vanilla's 20 a second,
// and the reported tick rate reached.
//
// - Ticking: flying-squid ticks with setInterval(1000 / 20). We replace its setTickInterval with
//   a drift-free loop at 20 x K ticks a second whose 'tick' delta is in game seconds, so world
//   time, furnaces, block updates and entity physics (all driven by ticks) follow K. When the
//   event loop falls behind, up to MAX_BURST ticks run back to back; a longer backlog is dropped,
//   like vanilla's "can't keep up", and shows up as a lower rate reached.
// - Item lifetimes: flying-squid compares Date.now() - bornTime with pickupTime/deathTime, so
//   those are converted to wall time when an object spawns.
// - Report: every REPORT_MS <world>/lifelong-clock.json gets the scale, the target and the rate
//   reached (Python's status and the run reports read it), and the log gets a warning while the
//   machine cannot hold K.
// Other plugins take their timers from serverClock(serv) (mobs' AI, the dig-time check, ...).

const fs = require('fs')
const path = require('path')
const { performance } = require('perf_hooks')
const { Clock, TICKS_PER_SECOND } = require('../../bot/clock')

const CLOCK_FILE = 'lifelong-clock.json'
const MAX_BURST = 5 // ticks run back to back to catch up, per turn of the event loop
const DROP_BACKLOG_MS = 1000 // wall time behind schedule after which the backlog is dropped
const REPORT_MS = 2000
const SHORTFALL = 0.9 // warn below this share of the target rate
const WARN_EVERY_MS = 30000

/** The server's clock, made from the launcher's settings by whichever plugin asks first. */
function serverClock (serv, settings) {
  if (!serv.clock) serv.clock = new Clock(settings?.lifelong?.timeScale ?? 1)
  return serv.clock
}

/** Tick `serv` at `ticksPerSecond` x K; returns a function that stops it. */
function startTicking (serv, clock, ticksPerSecond) {
  const period = 1000 / (ticksPerSecond * clock.scale)
  let next = performance.now() + period
  let last = Date.now()
  let timer = null
  const tick = () => {
    serv.tickCount++
    const now = Date.now()
    const delta = clock.gameMs(now - last) / 1000 // game seconds, as flying-squid's handlers expect
    last = now
    serv.lastTickTime = now
    serv.emit('tick', delta > 100 ? 0 : delta, serv.tickCount)
  }
  const loop = () => {
    const now = performance.now()
    for (let n = 0; now >= next && n < MAX_BURST; n++) {
      tick()
      next += period
    }
    if (now - next > DROP_BACKLOG_MS) next = now + period
    timer = setTimeout(loop, Math.max(0, next - performance.now()))
  }
  timer = setTimeout(loop, period)
  return () => clearTimeout(timer)
}

/** Replace flying-squid's fixed-rate ticking (plugins/tick.js) with ours, and restart it. */
function takeOverTicking (serv, clock) {
  let stop = null
  serv.stopTickInterval = () => {
    if (serv.tickInterval) clearInterval(serv.tickInterval) // flying-squid's own, if it started one
    serv.tickInterval = null
    if (stop) stop()
    stop = null
  }
  serv.setTickInterval = (ticksPerSecond = TICKS_PER_SECOND) => {
    serv.stopTickInterval()
    stop = startTicking(serv, clock, ticksPerSecond)
  }
  serv.setTickInterval(TICKS_PER_SECOND)
  serv.on('close', () => serv.stopTickInterval())
}

/** Item pickup delays and despawn times are game time: convert them when an object spawns. */
function scaleObjectLifetimes (serv, clock) {
  if (clock.scale === 1) return
  const spawnObject = serv.spawnObject
  serv.spawnObject = (type, world, position, opts = {}) => spawnObject(type, world, position, {
    ...opts,
    pickupTime: opts.pickupTime === undefined ? undefined : clock.realMs(opts.pickupTime),
    deathTime: opts.deathTime === undefined ? undefined : clock.realMs(opts.deathTime)
  })
}

/** The rate reached, as written to lifelong-clock.json and shown by `lifelong server status`. */
function tickReport (serv, clock, startedAt) {
  const reached = typeof serv.tps === 'function' ? serv.tps() : null
  const target = clock.targetTicksPerSecond
  return {
    time_scale: clock.scale,
    target_ticks_per_s: target,
    ticks_per_s: reached === null ? null : Math.round(reached * 100) / 100,
    scale_reached: reached === null ? null : Math.round(reached / TICKS_PER_SECOND * 100) / 100,
    behind: reached !== null && reached > 0 && reached < target * SHORTFALL,
    mean_ticks_per_s: Math.round(serv.tickCount / Math.max(0.001, (Date.now() - startedAt) / 1000) * 100) / 100,
    ticks: serv.tickCount,
    started_at: startedAt,
    updated_at: Date.now()
  }
}

function writeReport (worldFolder, report) {
  const file = path.join(worldFolder, CLOCK_FILE)
  fs.writeFileSync(file + '.tmp', JSON.stringify(report, null, 2))
  fs.renameSync(file + '.tmp', file)
}

/** Write the report every REPORT_MS; log a warning (at most every WARN_EVERY_MS) while behind. */
function startReporting (serv, clock, worldFolder) {
  const startedAt = Date.now()
  let warned = 0
  const report = () => {
    const r = tickReport(serv, clock, startedAt)
    if (worldFolder) {
      try { writeReport(worldFolder, r) } catch (err) { serv.warn?.(`[clock] cannot write ${CLOCK_FILE}: ${err.message}`) }
    }
    // The first seconds include start-up work; judge the rate once a full window has passed.
    if (r.behind && Date.now() - startedAt > 10000 && Date.now() - warned > WARN_EVERY_MS) {
      warned = Date.now()
      serv.warn?.(`[clock] warning: ${r.ticks_per_s} ticks/s reached of ${r.target_ticks_per_s} asked (time scale ${clock.scale}): ` +
        `this machine cannot hold it, the world runs ${r.scale_reached}x real time. Use a smaller --time-scale or free some CPU.`)
    }
  }
  const timer = setInterval(report, REPORT_MS)
  timer.unref()
  serv.on('close', () => clearInterval(timer))
}

module.exports.server = function (serv, settings) {
  const clock = serverClock(serv, settings)
  serv.on('asap', () => {
    takeOverTicking(serv, clock)
    scaleObjectLifetimes(serv, clock)
    startReporting(serv, clock, settings.worldFolder)
    // (after the launcher has pointed serv.log at the world's log)
    setImmediate(() => serv.info?.(`[clock] time scale ${clock.scale}: ${clock.targetTicksPerSecond} ticks a second`))
  })
}

module.exports.serverClock = serverClock
module.exports.CLOCK_FILE = CLOCK_FILE
