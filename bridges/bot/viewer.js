// Live view of the bot in a browser: prismarine-viewer's page and world streaming, served on
// localhost. prismarine-viewer's own `mineflayer()` entry loads its browser renderer, which
// needs the native `canvas` package (not installed), so this wires the same pieces directly:
// the prebuilt page (public/) and WorldView, which streams chunks and entities over socket.io.
'use strict'
const path = require('path')
const modules = path.join(__dirname, '..', 'node_modules')
const pv = path.join(modules, 'prismarine-viewer')

// `port` is required: its one default lives in lifelong/minecraft/limits.py (VIEWER_PORT).
function startViewer (bot, { port, viewDistance = 4, firstPerson = false } = {}) {
  const express = require(path.join(modules, 'express'))
  const compression = require(path.join(modules, 'compression'))
  const { WorldView } = require(path.join(pv, 'viewer', 'lib', 'worldView'))
  const app = express()
  app.use(compression())
  app.use('/', express.static(path.join(pv, 'public')))
  const http = require('http').createServer(app)
  const io = require(path.join(modules, 'socket.io'))(http, { path: '/socket.io' })
  const sockets = new Set()

  io.on('connection', (socket) => {
    socket.emit('version', bot.version)
    sockets.add(socket)
    const worldView = new WorldView(bot.world, viewDistance, bot.entity.position, socket)
    worldView.init(bot.entity.position)
    const onMove = () => {
      const packet = { pos: bot.entity.position, yaw: bot.entity.yaw, addMesh: true }
      if (firstPerson) packet.pitch = bot.entity.pitch
      socket.emit('position', packet)
      worldView.updatePosition(bot.entity.position)
    }
    bot.on('move', onMove)
    worldView.listenToBot(bot)
    socket.on('disconnect', () => {
      bot.removeListener('move', onMove)
      worldView.removeListenersFromBot(bot)
      sockets.delete(socket)
    })
  })

  return new Promise((resolve, reject) => {
    http.once('error', (err) => reject(new Error(err.code === 'EADDRINUSE'
      ? `viewer: port ${port} is in use; pick another with --viewer-port`
      : `viewer: ${err.message}`)))
    http.listen(port, '127.0.0.1', () => resolve({
      url: `http://localhost:${port}`,
      close () {
        for (const s of sockets) s.disconnect()
        http.close()
      }
    }))
  })
}

module.exports = { startViewer }
