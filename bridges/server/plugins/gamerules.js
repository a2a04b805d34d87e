'use strict'
// Game rules of the embedded world: survival spawn point from our generator, daylight cycle,
// keepInventory (flying-squid never drops anything on death), ops, and the world time that
// must survive a restart. State lives in <world>/lifelong-state.json (written atomically).

const fs = require('fs')
const path = require('path')
const { Vec3 } = require('vec3')
const { createTerrain } = require('../worldgen')

const STATE_FILE = 'lifelong-state.json'

function readState (worldFolder) {
  try { return JSON.parse(fs.readFileSync(path.join(worldFolder, STATE_FILE), 'utf8')) } catch { return {} }
}

function writeState (worldFolder, state) {
  const file = path.join(worldFolder, STATE_FILE)
  const tmp = file + '.tmp'
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2))
  fs.renameSync(tmp, file)
}

module.exports.server = function (serv, settings) {
  const cfg = settings.lifelong ?? {}
  serv.lifelongConfig = cfg // external plugins' player hooks get no settings argument
  const worldFolder = settings.worldFolder
  const saved = worldFolder ? readState(worldFolder) : {}
  serv.gameRules = {
    doDaylightCycle: saved.gameRules?.doDaylightCycle ?? cfg.doDaylightCycle ?? true,
    keepInventory: saved.gameRules?.keepInventory ?? cfg.keepInventory ?? false,
    doMobSpawning: saved.gameRules?.doMobSpawning ?? cfg.mobs ?? true
  }
  // Flags given on this start win over what the world remembers.
  for (const key of ['doDaylightCycle', 'keepInventory']) if (cfg[key] !== undefined) serv.gameRules[key] = cfg[key]
  if (cfg.mobs !== undefined) serv.gameRules.doMobSpawning = cfg.mobs

  const ourGenerator = typeof settings.generation?.name === 'string' && settings.generation.name.endsWith('worldgen.js')
  // The same terrain as the generator's (its world style included), for the spawn point and mobs.
  serv.on('seed', seed => { if (ourGenerator) serv.terrain = createTerrain(seed, settings.generation.options ?? {}) })

  serv.on('asap', () => {
    // settings.js (loaded after us) defines these; override once every plugin has run.
    serv.doDaylightCycle = serv.gameRules.doDaylightCycle
    if (typeof saved.time === 'number') serv.time = saved.time
    const fallback = serv.getSpawnPoint
    serv.getSpawnPoint = async world => {
      if (serv.terrain && world === serv.overworld) {
        const s = serv.terrain.spawn
        return new Vec3(s.x + 0.5, s.y, s.z + 0.5)
      }
      return fallback(world)
    }
  })

  serv.on('lifelongSave', waits => {
    if (!worldFolder) return
    waits.push(Promise.resolve().then(() => writeState(worldFolder, { ...readState(worldFolder), time: serv.time, gameRules: serv.gameRules })))
  })

  // Tick rate over the last 5 s (20/s at time scale 1, 20 x K at K); /tps reports it (benchmarks use it).
  const ticks = []
  serv.on('tick', () => {
    const now = Date.now()
    ticks.push(now)
    while (ticks.length && ticks[0] < now - 5000) ticks.shift()
  })
  serv.tps = () => ticks.length < 2 ? 0 : (ticks.length - 1) / ((ticks[ticks.length - 1] - ticks[0]) / 1000)
  serv.commands.add({
    base: 'tps',
    info: 'server ticks per second over the last 5 s',
    usage: '/tps',
    action () {
      const clock = serv.clock
      return `tps ${serv.tps().toFixed(2)}` + (clock && clock.scale !== 1 ? ` of ${clock.targetTicksPerSecond} (time scale ${clock.scale})` : '')
    }
  })

  serv.commands.add({
    base: 'gamerule',
    info: 'query or set a game rule (doDaylightCycle, keepInventory, doMobSpawning)',
    usage: '/gamerule <rule> [true|false]',
    op: true,
    parse (str) {
      const m = str.match(/^(\w+)(?: (true|false))?$/)
      return m && m[1] in serv.gameRules ? { rule: m[1], value: m[2] } : false
    },
    action ({ rule, value }) {
      if (value === undefined) return `${rule} = ${serv.gameRules[rule]}`
      serv.gameRules[rule] = value === 'true'
      if (rule === 'doDaylightCycle') serv.doDaylightCycle = serv.gameRules.doDaylightCycle
      return `Gamerule ${rule} is now set to: ${value}`
    }
  })
}

module.exports.player = function (player, serv) {
  const ops = serv.lifelongConfig?.ops ?? []
  player.on('connected', () => {
    if (ops.includes('*') || ops.includes(player.username)) player.op = true
  })

  // Wrap health updates once all built-in player hooks have run (asap), to see deaths.
  player.on('asap', () => {
    // Track in-flight player saves (flying-squid saves on disconnect without awaiting), so a
    // shutdown right after a bot leaves still writes its inventory (index.js awaits these).
    const save = player.save
    serv.pendingSaves ??= new Set()
    player.save = () => {
      const p = Promise.resolve().then(save).finally(() => serv.pendingSaves.delete(p))
      serv.pendingSaves.add(p)
      return p
    }
    const updateHealth = player.updateHealth
    player.updateHealth = health => {
      const wasAlive = player.health > 0
      updateHealth(health)
      if (wasAlive && health <= 0) onDeath()
    }
  })

  function onDeath () {
    serv.emit('playerDeath', player)
    if (serv.gameRules.keepInventory) return
    const itemEntity = serv.registry.entitiesByName.item.id
    for (let slot = 0; slot < player.inventory.slots.length; slot++) {
      const item = player.inventory.slots[slot]
      if (!item) continue
      serv.spawnObject(itemEntity, player.world, player.position.offset(0, 0.5, 0), {
        velocity: new Vec3(Math.random() * 2 - 1, 2, Math.random() * 2 - 1),
        itemId: item.type,
        itemCount: item.count,
        pickupTime: 2000,
        deathTime: 5 * 60 * 1000
      })
      player.inventory.updateSlot(slot, null)
    }
  }

  // 1.20.5+ changed both packets flying-squid uses to respawn: client_command's action is now
  // the string 'perform_respawn' (flying-squid compares with 0, so a dead player stays dead)
  // and the respawn packet carries a SpawnInfo 'worldState'. Handle that protocol here.
  const GAMEMODES = ['survival', 'creative', 'adventure', 'spectator']
  if (serv.registry.loginPacket?.worldState) {
    player._client.on('client_command', ({ actionId }) => {
      if (actionId !== 'perform_respawn') return
      player.behavior('requestRespawn', {}, () => {
        player._client.write('respawn', {
          worldState: {
            ...serv.registry.loginPacket.worldState,
            hashedSeed: serv.hashedSeed,
            gamemode: GAMEMODES[player.gameMode] ?? 'survival',
            previousGamemode: player.prevGameMode ?? 255,
            isFlat: false
          },
          copyMetadata: 0
        })
        player.sendSelfPosition()
        player.updateHealth(20)
        player.nearbyEntities = []
        player.updateAndSpawn()
      })
    })
  }

  // Vanilla respawns at the spawn point with full food; flying-squid keeps the death spot.
  player.on('requestRespawn', () => {
    player.position = player.spawnPoint.clone()
    player.food = 20
    player.foodSaturation = 5
  })
}
