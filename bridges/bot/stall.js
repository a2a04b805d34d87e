'use strict'
// "Trying to move but not getting anywhere", defined once. The runner ends a program after the
// step's stuckMs of it (its stuck detector; the value is lifelong/minecraft/limits.py's STUCK_S);
// primitives watch with a shorter limit, through the program context's `_watchStall`, so they
// can recover first (another block, a detour).
// Limits are game time: at time scale K the bot moves K times faster, so they last 1/K on the wall.

const { clockOf } = require('./clock')

const PROGRESS_BLOCKS = 1.5 // Voyager: ~100 ticks without 1.5 blocks
const CHECK_MS = 250

/**
 * Call `onStall(position)` once `isMoving()` has held for `ms` of game time without the bot
 * getting PROGRESS_BLOCKS from where it was; the watch then starts over from there.
 * Returns a function that stops watching.
 */
function watchStall (bot, ms, onStall, isMoving = () => bot.pathfinder.isMoving()) {
  const clock = clockOf(bot)
  const limit = clock.realMs(ms)
  let anchor = bot.entity.position.clone()
  let since = Date.now()
  const restart = (pos) => { anchor = pos.clone(); since = Date.now() }
  const handle = setInterval(() => {
    if (!bot.entity) return
    const pos = bot.entity.position
    if (!isMoving() || pos.distanceTo(anchor) > PROGRESS_BLOCKS) return restart(pos)
    if (Date.now() - since > limit) {
      restart(pos)
      onStall(pos)
    }
  }, clock.realMs(CHECK_MS))
  return () => clearInterval(handle)
}

module.exports = { watchStall, PROGRESS_BLOCKS }
