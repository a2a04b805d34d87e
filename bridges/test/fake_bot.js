'use strict'
// A stand-in bot for the program runner's tests without a server: an EventEmitter with the few
// fields the runner touches (position, chat, the pathfinder's moving flag, the stop calls).
const { EventEmitter } = require('events')
const path = require('path')
const { Vec3 } = require(path.join(__dirname, '..', 'node_modules', 'vec3'))

function fakeBot ({ moving = false } = {}) {
  const bot = new EventEmitter()
  bot.entity = { position: new Vec3(0, 64, 0) }
  bot.controlState = {}
  bot.said = []
  bot.chat = (m) => bot.said.push(m)
  bot._client = { socket: { destroyed: false } }
  bot.pathfinder = { isMoving: () => moving, stop () { moving = false }, setGoal () {} }
  bot.clearControlStates = () => {}
  bot.stopDigging = () => {}
  bot.deactivateItem = () => {}
  return bot
}

module.exports = { fakeBot }
