'use strict'
// Mobs: passive animals (cow, pig, sheep, chicken) on grass, hostile zombies and skeletons at
// night (difficulty easy and up). They take weapon damage, die, and drop vanilla loot.
//
// flying-squid 1.12 has no mob AI and cannot even spawn 1.21 animals (`serv.spawnMob` looks the
// type up in registry.mobs, which lists only hostile "mob" types), so this plugin owns the whole
// life cycle: spawn packet, movement (snapped to the ground, no builtin physics), damage,
// death animation, despawn and loot. Simplifications, by design:
//   * movement is a walk on the block grid (1-block steps up/down), no swimming or pathfinding;
//   * skeletons hit with a simulated arrow (hit chance by distance) instead of a projectile;
//   * mobs are not saved with the world (they respawn around players after a restart).

const crypto = require('crypto')
const { Vec3 } = require('vec3')
const { serverClock } = require('./clock')

const PASSIVE = ['cow', 'pig', 'sheep', 'chicken']
const HOSTILE = ['zombie', 'skeleton']
const MAX_HEALTH = { cow: 10, pig: 10, sheep: 8, chicken: 4, zombie: 20, skeleton: 20 }
const SPEED = { cow: 1.2, pig: 1.2, sheep: 1.2, chicken: 1.0, zombie: 1.9, skeleton: 1.6 } // blocks/s
// Vanilla loot without Looting: [item, min, max].
const LOOT = {
  cow: [['beef', 1, 3], ['leather', 0, 2]],
  pig: [['porkchop', 1, 3]],
  sheep: [['mutton', 1, 2], ['white_wool', 1, 1]],
  chicken: [['chicken', 1, 1], ['feather', 0, 2]],
  zombie: [['rotten_flesh', 0, 2]],
  skeleton: [['bone', 0, 2], ['arrow', 0, 2]]
}
// Melee damage by held item (Java 1.21 values); anything else hits for 1 like a fist.
const WEAPON = {
  wooden_sword: 4, stone_sword: 5, iron_sword: 6, golden_sword: 4, diamond_sword: 7, netherite_sword: 8,
  wooden_axe: 7, stone_axe: 9, iron_axe: 9, golden_axe: 7, diamond_axe: 9, netherite_axe: 10,
  wooden_pickaxe: 2, stone_pickaxe: 3, iron_pickaxe: 4, golden_pickaxe: 2, diamond_pickaxe: 5, netherite_pickaxe: 6,
  wooden_shovel: 2.5, stone_shovel: 3.5, iron_shovel: 4.5, golden_shovel: 2.5, diamond_shovel: 5.5, netherite_shovel: 6.5,
  trident: 9, mace: 6
}
const FOLLOW_RANGE = { zombie: 35, skeleton: 16 } // vanilla follow_range attribute
const HOSTILE_DAMAGE = { zombie: [2, 3, 4.5], skeleton: [2, 3, 4] } // easy, normal, hard
const AI_PERIOD_MS = 200
const SPAWN_PERIOD_MS = 4000
const PASSIVE_PER_PLAYER = 10
const HOSTILE_PER_PLAYER = 4

function isNight (time) { const t = ((time % 24000) + 24000) % 24000; return t >= 13000 && t < 23000 }
function randInt (lo, hi) { return lo + Math.floor(Math.random() * (hi - lo + 1)) }
function yawByte (dx, dz) {
  const deg = Math.atan2(-dx, dz) * 180 / Math.PI
  let b = Math.floor((deg % 360) * 256 / 360)
  if (b < -128) b += 256; else if (b > 127) b -= 256
  return b
}

/** Loot of a dead mob as [{ name, count }] (counts of 0 are dropped). */
function lootFor (name, rng = Math.random) {
  return (LOOT[name] ?? []).map(([item, lo, hi]) => ({ name: item, count: lo + Math.floor(rng() * (hi - lo + 1)) }))
    .filter(d => d.count > 0)
}

/** Melee damage of the item a player holds. */
function weaponDamage (itemName) { return WEAPON[itemName] ?? 1 }

module.exports.server = function (serv, settings) {
  const { registry } = serv
  const clock = serverClock(serv, settings) // AI periods, walks, cooldowns and burns are game time
  const blocks = registry.blocks
  const solid = id => blocks[id]?.boundingBox === 'block'
  const passable = id => blocks[id]?.boundingBox === 'empty' && !['water', 'lava'].includes(blocks[id]?.name)
  const grass = registry.blocksByName.grass_block.id
  const damageTypes = registry.loginPacket?.dimensionCodec?.['minecraft:damage_type']?.entries?.map(e => e.key) ?? []
  const damageType = name => Math.max(0, damageTypes.indexOf('minecraft:' + name))
  serv.mobs = new Set()

  /** Highest y in [y0-3, y0+3] where a mob can stand at (x, z), or null. */
  async function standY (world, x, y0, z) {
    for (let y = Math.floor(y0) + 2; y >= Math.floor(y0) - 3; y--) {
      const below = await world.getBlockType(new Vec3(x, y - 1, z))
      if (!solid(below)) continue
      const feet = await world.getBlockType(new Vec3(x, y, z))
      const head = await world.getBlockType(new Vec3(x, y + 1, z))
      if (passable(feet) && passable(head)) return y
    }
    return null
  }

  /** Spawn a living mob by name at a position; returns the entity (or null when full). */
  serv.spawnLivingMob = (name, world, position) => {
    const data = registry.entitiesByName[name]
    let mob
    try {
      mob = serv.initEntity('mob', data.id, world, position.clone())
    } catch (err) {
      return null // max-entities reached
    }
    mob.uuid = crypto.randomUUID()
    mob.name = name
    mob.pitch = 0; mob.headPitch = 0; mob.yaw = randInt(-128, 127)
    mob.velocity = undefined // no builtin physics: our AI places the mob on the ground
    mob.size = new Vec3(data.width, data.height, data.width)
    mob.health = MAX_HEALTH[name] ?? 10
    mob.metadata = []
    mob.hostile = HOSTILE.includes(name)
    mob.ai = { target: null, walkUntil: 0, dir: null, nextAttack: 0, busy: false }
    mob.takeDamage = opts => damageMob(mob, opts)
    mob.getSpawnPacket = wrapSpawnPacket(mob, mob.getSpawnPacket)
    serv.mobs.add(mob)
    mob.updateAndSpawn()
    return mob
  }

  /** flying-squid's spawn packet reads entity.velocity, which our mobs leave unset (no physics). */
  function wrapSpawnPacket (mob, original) {
    return () => {
      mob.velocity = new Vec3(0, 0, 0)
      try { return original() } finally { mob.velocity = undefined }
    }
  }

  function damageMob (mob, { damage = 1, attacker = null } = {}) {
    if (mob.dead) return
    mob.health -= damage
    mob._writeOthersNearby('damage_event', {
      entityId: mob.id,
      sourceTypeId: damageType(attacker ? 'player_attack' : 'generic'),
      sourceCauseId: attacker ? attacker.id + 1 : 0,
      sourceDirectId: attacker ? attacker.id + 1 : 0
    })
    if (mob.health <= 0) return killMob(mob, attacker)
    // Knock back half a block away from the attacker; passive mobs flee, hostile ones fight back.
    if (attacker) {
      const away = mob.position.minus(attacker.position)
      const len = Math.hypot(away.x, away.z) || 1
      moveTo(mob, mob.position.offset(away.x / len * 0.5, 0, away.z / len * 0.5))
      if (mob.hostile) mob.ai.target = attacker
      else mob.ai.fleeFrom = attacker
    }
  }

  function killMob (mob, attacker) {
    mob.dead = true
    mob.ai.target = null
    mob._writeOthersNearby('entity_status', { entityId: mob.id, entityStatus: 3 })
    for (const { name, count } of lootFor(mob.name)) {
      serv.dropItem(mob.world, mob.position.offset(0, 0.5, 0), registry.itemsByName[name].id, count)
    }
    serv.emit('mobDeath', mob, attacker)
    // Vanilla shows the death animation for 1 s before the entity disappears.
    clock.setTimeout(() => removeMob(mob), 800)
  }

  function removeMob (mob) {
    serv.mobs.delete(mob)
    if (serv.entities[mob.id]) mob.destroy()
  }

  async function moveTo (mob, target) {
    const x = Math.floor(target.x); const z = Math.floor(target.z)
    const y = await standY(mob.world, x, mob.position.y, z)
    if (y === null || Math.abs(y - mob.position.y) > 1.01) return false
    const next = new Vec3(target.x, y, target.z)
    mob.yaw = yawByte(next.x - mob.position.x, next.z - mob.position.z)
    await mob.sendPosition(next, true)
    return true
  }

  async function step (mob, now) {
    const dt = AI_PERIOD_MS / 1000
    const speed = SPEED[mob.name] ?? 1
    const players = serv.players.filter(p => p.world === mob.world && p.health > 0 && p.gameMode !== 1 && p.gameMode !== 3)
    if (mob.hostile) {
      if (!mob.ai.target || !players.includes(mob.ai.target)) {
        mob.ai.target = players.filter(p => p.position.distanceTo(mob.position) < FOLLOW_RANGE[mob.name])
          .sort((a, b) => a.position.distanceTo(mob.position) - b.position.distanceTo(mob.position))[0] ?? null
      }
      const target = mob.ai.target
      if (target) {
        const d = target.position.distanceTo(mob.position)
        if (d > FOLLOW_RANGE[mob.name] + 8) { mob.ai.target = null; return }
        const wantClose = mob.name === 'zombie' ? 1.2 : 7
        if (d > wantClose) {
          const dir = target.position.minus(mob.position)
          const len = Math.hypot(dir.x, dir.z) || 1
          await moveTo(mob, mob.position.offset(dir.x / len * speed * dt, 0, dir.z / len * speed * dt))
        }
        if (now >= mob.ai.nextAttack) attackPlayer(mob, target, d, now)
        return
      }
    } else if (mob.ai.fleeFrom && now < (mob.ai.fleeUntil ??= now + 3000)) {
      const away = mob.position.minus(mob.ai.fleeFrom.position)
      const len = Math.hypot(away.x, away.z) || 1
      await moveTo(mob, mob.position.offset(away.x / len * speed * 1.5 * dt, 0, away.z / len * speed * 1.5 * dt))
      return
    } else if (mob.ai.fleeFrom) {
      mob.ai.fleeFrom = null; mob.ai.fleeUntil = undefined
    }
    // Wander: walk a random direction for 1-3 s, then rest.
    if (now > mob.ai.walkUntil + 2000 + Math.random() * 4000) {
      const a = Math.random() * Math.PI * 2
      mob.ai.dir = [Math.cos(a), Math.sin(a)]
      mob.ai.walkUntil = now + 1000 + Math.random() * 2000
    }
    if (now < mob.ai.walkUntil && mob.ai.dir) {
      const ok = await moveTo(mob, mob.position.offset(mob.ai.dir[0] * speed * dt, 0, mob.ai.dir[1] * speed * dt))
      if (!ok) mob.ai.walkUntil = 0
    }
  }

  function attackPlayer (mob, player, distance, now) {
    const difficulty = Math.max(1, Math.min(3, serv.difficulty))
    const damage = HOSTILE_DAMAGE[mob.name][difficulty - 1]
    if (mob.name === 'zombie' && distance <= 1.8) {
      mob.ai.nextAttack = now + 1000
      player.takeDamage({ damage, velocity: player.position.minus(mob.position).normalize().scaled(2).offset(0, 1, 0) })
    } else if (mob.name === 'skeleton' && distance <= 15) {
      mob.ai.nextAttack = now + 2000
      if (Math.random() < Math.max(0.2, 1 - distance / 20)) player.takeDamage({ damage, velocity: new Vec3(0, 0.5, 0) })
    }
  }

  async function spawnNear (player, names, count, minDist, maxDist, natural = true) {
    const name = names[randInt(0, names.length - 1)]
    const a = Math.random() * Math.PI * 2
    const d = minDist + Math.random() * (maxDist - minDist)
    const cx = Math.floor(player.position.x + Math.cos(a) * d)
    const cz = Math.floor(player.position.z + Math.sin(a) * d)
    let spawned = 0
    for (let i = 0; i < count; i++) {
      const x = cx + randInt(-2, 2); const z = cz + randInt(-2, 2)
      const guess = serv.terrain ? serv.terrain.heightAt(x, z) + 1 : player.position.y
      const y = await standY(player.world, x, guess, z)
      if (y === null) continue
      if (natural && !names.some(n => HOSTILE.includes(n)) && (await player.world.getBlockType(new Vec3(x, y - 1, z))) !== grass) continue
      if (natural && HOSTILE.includes(name) && serv.players.some(p => p.position.distanceTo(new Vec3(x, y, z)) < 24)) continue
      if (serv.spawnLivingMob(name, player.world, new Vec3(x + 0.5, y, z + 0.5))) spawned++
    }
    return spawned
  }

  async function spawnCycle () {
    if (!serv.gameRules?.doMobSpawning) return
    for (const player of serv.players) {
      if (player.health <= 0 || !player.world) continue
      const near = [...serv.mobs].filter(m => m.world === player.world && m.position.distanceTo(player.position) < 64)
      if (near.filter(m => !m.hostile).length < PASSIVE_PER_PLAYER) await spawnNear(player, PASSIVE, randInt(2, 4), 12, 40)
      if (serv.difficulty >= 1 && isNight(serv.time) && near.filter(m => m.hostile).length < HOSTILE_PER_PLAYER) {
        await spawnNear(player, HOSTILE, 1, 24, 40) // vanilla: never closer than 24 blocks
      }
    }
  }

  let aiBusy = false
  const aiTimer = setInterval(async () => {
    if (aiBusy || !serv.pluginsReady) return
    aiBusy = true
    const now = clock.now()
    try {
      for (const mob of serv.mobs) {
        if (mob.dead) continue
        const nearest = Math.min(...serv.players.filter(p => p.world === mob.world).map(p => p.position.distanceTo(mob.position)), Infinity)
        if (nearest > 128) { removeMob(mob); continue }
        if (nearest > 48) continue // too far to matter: freeze
        // Undead burn in daylight: 1 damage per second.
        if (mob.hostile && !isNight(serv.time) && now >= (mob.ai.nextBurn ?? 0)) {
          mob.ai.nextBurn = now + 1000
          damageMob(mob, { damage: 1 })
          if (mob.dead) continue
        }
        await step(mob, now)
      }
    } catch (err) {
      serv.warn?.(`[mobs] ${err.stack}`)
    }
    aiBusy = false
  }, clock.realMs(AI_PERIOD_MS))
  const spawnTimer = clock.setInterval(() => { spawnCycle().catch(err => serv.warn?.(`[mobs] ${err.stack}`)) }, SPAWN_PERIOD_MS)
  serv.on('close', () => { clearInterval(aiTimer); clearInterval(spawnTimer) })

  serv.commands.add({
    base: 'spawnmob',
    info: 'spawn a mob with our AI next to you (cow, pig, sheep, chicken, zombie, skeleton)',
    usage: '/spawnmob <name> [count]',
    onlyPlayer: true,
    op: true,
    parse (str) {
      const m = str.match(/^(\w+)(?: (\d+))?$/)
      return m && (PASSIVE.includes(m[1]) || HOSTILE.includes(m[1])) ? { name: m[1], count: Number(m[2] ?? 1) } : false
    },
    async action ({ name, count }, ctx) {
      let spawned = 0
      for (let tries = 0; spawned < count && tries < 30; tries++) spawned += await spawnNear(ctx.player, [name], 1, 2, 5, false)
      return `spawned ${spawned} ${name}`
    }
  })
}

module.exports.player = function (player, serv) {
  // flying-squid's attack always deals 1 damage; use the held weapon, and tell mobs who hit them.
  player.on('attack_cancel', data => {
    const held = player.inventory.slots[36 + player.heldItemSlot]
    data.damage = weaponDamage(held ? serv.registry.items[held.type]?.name : null)
    data.attacker = player
  })
}

module.exports.lootFor = lootFor
module.exports.weaponDamage = weaponDamage
module.exports.isNight = isNight
