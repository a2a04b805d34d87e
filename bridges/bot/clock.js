'use strict'
// Game time versus wall time: the one place that knows the time scale K.
//
// On our own server nothing forces real time, so the world and the bot may run K times faster:
// a game second then lasts 1/K of a wall second. Everything that waits or measures *game* time
// (ticks, dig times, smelting, a program's timeouts and stuck detector) asks a Clock to turn game
// milliseconds into wall milliseconds; things that wait for the network or for computation
// (keep-alives, a window opening, the pathfinder's search budget) stay in wall time.
//
// The server has one clock (serv.clock, plugins/clock.js). In the bot's Node process each bot
// has its own (create.js attaches it; clockOf(bot) finds it), so bodies at different scales can
// share one process. At K = 1 every conversion is the identity and programs get the real Date.

const TICKS_PER_SECOND = 20 // vanilla Minecraft, at K = 1
const MAX_SCALE = 100 // beyond this a tick would be shorter than Node's timer resolution

/**
 * The time scale as a number, or an Error that says what is wrong and what to write instead.
 * K must be a number above 0 (1 = real time, 4 = four times faster, 0.5 = half speed).
 */
function checkTimeScale (value) {
  const k = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof k !== 'number' || !Number.isFinite(k) || k <= 0) {
    throw new Error(`time scale must be a number above 0 (1 = real time, 4 = four times faster), got ${JSON.stringify(value)}`)
  }
  if (k > MAX_SCALE) throw new Error(`time scale ${k} is above the maximum of ${MAX_SCALE}: ticks would be shorter than the timers can resolve; use ${MAX_SCALE} or less`)
  return k
}

class Clock {
  /** @param {number} [scale] K: game seconds per wall second */
  constructor (scale = 1) {
    this.scale = checkTimeScale(scale)
    this.origin = Date.now()
    this.ticksPerSecond = () => null // a bot's clock measures its physics ticks (attachClock)
  }

  /** Ticks per wall second the world should reach (20 at K = 1). */
  get targetTicksPerSecond () { return TICKS_PER_SECOND * this.scale }

  /** Wall milliseconds that `gameMs` of game time take. Non-numbers pass through at K = 1 (as Node's timers take them). */
  realMs (gameMs) {
    if (this.scale === 1) return gameMs
    return (Number(gameMs) || 0) / this.scale
  }

  /** Game milliseconds that pass in `realMs` of wall time. */
  gameMs (realMs) { return realMs * this.scale }

  /** Game time now, in epoch milliseconds: runs K times faster than Date.now() since the clock started. */
  now () {
    if (this.scale === 1) return Date.now()
    return Math.floor(this.origin + (Date.now() - this.origin) * this.scale)
  }

  /** setTimeout/setInterval in game milliseconds. */
  setTimeout (fn, gameMs, ...args) { return setTimeout(fn, this.realMs(gameMs), ...args) }
  setInterval (fn, gameMs, ...args) { return setInterval(fn, this.realMs(gameMs), ...args) }

  /**
   * A Date whose now() and argument-less constructor tell game time, for programs: Voyager's
   * primitives measure their own deadlines with Date.now() (exploreUntil's maxTime, smeltItem's
   * wait), and those must last the same game time at any K. A fresh class per call (one per
   * program step), so what a program assigns to it ends with its step; the real (frozen) Date at K = 1.
   */
  makeDate () {
    if (this.scale === 1) return Date
    const clock = this
    return class GameDate extends Date {
      constructor (...args) {
        if (args.length === 0) super(clock.now())
        else super(...args)
      }

      static now () { return clock.now() }
    }
  }

  /** "600 s", or "600 s of game time (150 s at time scale 4)" when K is not 1: for messages. */
  describe (gameMs) {
    const s = (ms) => `${Math.round(ms / 100) / 10} s`
    if (this.scale === 1) return s(gameMs)
    return `${s(gameMs)} of game time (${s(gameMs / this.scale)} at time scale ${this.scale})`
  }
}

const REAL_TIME = new Clock(1)
const clocks = new WeakMap() // bot -> Clock

/**
 * Give `bot` its clock (create.js does it before the bot's plugins start), with a meter of the
 * physics tick rate the bot reaches (`clock.ticksPerSecond()`, reported in observations).
 */
function attachClock (bot, clock) {
  clock.ticksPerSecond = tickMeter(bot)
  clocks.set(bot, clock)
  return clock
}

/** The clock of `bot`; real time for bots made elsewhere (tests' plain mineflayer bots). */
function clockOf (bot) {
  return (bot && clocks.get(bot)) || REAL_TIME
}

/**
 * Physics ticks per wall second a bot reached over the last `windowMs`: counts mineflayer's
 * physicsTick events. Returns a function that reads the rate (null before two ticks).
 */
function tickMeter (emitter, event = 'physicsTick', windowMs = 5000) {
  const times = []
  emitter.on(event, () => {
    const now = Date.now()
    times.push(now)
    while (times.length && times[0] < now - windowMs) times.shift()
  })
  return () => {
    if (times.length < 2) return null
    const span = (times[times.length - 1] - times[0]) / 1000
    return span > 0 ? (times.length - 1) / span : null
  }
}

module.exports = { Clock, REAL_TIME, TICKS_PER_SECOND, MAX_SCALE, checkTimeScale, attachClock, clockOf, tickMeter }
