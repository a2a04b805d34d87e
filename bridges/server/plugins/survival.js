'use strict'
// Survival rules on top of flying-squid's digging: vanilla drops and tool requirements
// (loot.js), dig time checked against the held tool, unbreakable blocks, and item pickup
// that keeps stack counts (flying-squid adds 1 item per entity whatever its count).
//
// flying-squid runs digging as a cancellable behaviour: 'dug_cancel' fires with the drop list
// before anything happens, so we rewrite that list in place or cancel the dig.

const { Vec3 } = require('vec3')
const { dropsFor, isBreakable, minDigTime } = require('../loot')
const { serverClock } = require('./clock')

// Accept a dig that took at least this share of the ideal time (minus network jitter):
// mineflayer waits exactly digTime, so honest clients pass; hand-held stone does not.
const DIG_TIME_SLACK = 0.6
const DIG_JITTER_MS = 150
const HOTBAR_THEN_MAIN = [...Array(9).keys()].map(i => 36 + i).concat([...Array(27).keys()].map(i => 9 + i))

module.exports.player = function (player, serv, settings) {
  const clock = serverClock(serv, settings) // dig times are game time, with or without the clock plugin
  const { registry } = serv
  const Item = require('prismarine-item')(registry)
  let digStart = null // { key, time }
  let lastSequence = 0

  player._client.on('block_dig', ({ location, status, sequence }) => {
    const key = `${location.x},${location.y},${location.z}`
    if (status === 0) digStart = { key, time: Date.now() }
    if (status === 2) lastSequence = sequence
  })

  const heldItem = () => player.inventory.slots[36 + player.heldItemSlot] ?? null

  function refuse (position, block, why) {
    serv.info(`[survival] refused dig of ${block.name} by ${player.username}: ${why}`)
    player._client.write('block_change', { location: position, type: block.stateId })
    if (serv.supportFeature('acknowledgePlayerDigging')) {
      player._client.write('acknowledge_player_digging', { sequenceId: lastSequence, location: position, block: block.stateId, status: 2, successful: false })
    }
  }

  player.on('dug_cancel', (data, cancel) => {
    if (player.gameMode === 1) return
    const { block, position } = data
    const held = heldItem()
    if (!isBreakable(block)) {
      cancel(false)
      refuse(position, block, 'unbreakable')
      return
    }
    const key = `${position.x},${position.y},${position.z}`
    const elapsed = digStart && digStart.key === key ? Date.now() - digStart.time : 0
    const needed = clock.realMs(minDigTime(block, held)) // game time, so wall time is 1/K of it
    if (elapsed < needed * DIG_TIME_SLACK - DIG_JITTER_MS) {
      cancel(false)
      refuse(position, block, `dug in ${elapsed} ms, needs ${Math.round(needed)} ms${clock.scale === 1 ? '' : ` at time scale ${clock.scale}`}`)
      return
    }
    digStart = null
    const age = block.getProperties?.().age
    const drops = dropsFor(registry, block.name, held, Math.random, age)
    const base = {
      blockDropPosition: position.offset(0.5, 0.5, 0.5),
      blockDropWorld: player.world,
      blockDropDamage: 0,
      blockDropPickup: 500,
      blockDropDeath: 5 * 60 * 1000
    }
    data.drops.splice(0, data.drops.length, ...drops.map(({ name, count }) => ({
      ...base,
      blockDropVelocity: new Vec3(Math.random() * 2 - 1, Math.random() * 2 + 2, Math.random() * 2 - 1),
      blockDropId: registry.itemsByName[name].id,
      blockDropCount: count
    })))
  })

  /** Put up to `count` items of `type` into the inventory; returns how many fit. */
  player.giveItems = (type, count) => {
    const stackSize = registry.items[type]?.stackSize ?? 64
    let left = count
    for (const slot of HOTBAR_THEN_MAIN) {
      const item = player.inventory.slots[slot]
      if (left > 0 && item && item.type === type && item.count < stackSize && !item.nbt) {
        const n = Math.min(left, stackSize - item.count)
        item.count += n
        left -= n
        player.inventory.updateSlot(slot, item)
      }
    }
    for (const slot of HOTBAR_THEN_MAIN) {
      if (left > 0 && !player.inventory.slots[slot]) {
        const n = Math.min(left, stackSize)
        player.inventory.updateSlot(slot, new Item(type, n))
        left -= n
      }
    }
    return count - left
  }

  // Replace flying-squid's pickup (inventory.js, loaded after plugins) once all hooks ran.
  player.on('asap', () => {
    // flying-squid skips entity metadata for 1.20.2+, so clients never learn what an item
    // entity holds (mineflayer's 'itemDrop' never fires and collectblock ignores the drop).
    const spawnEntity = player.spawnEntity
    player.spawnEntity = entity => {
      spawnEntity(entity)
      if (entity.itemId !== undefined && registry.version['>=']('1.20.2')) sendItemMetadata(player, entity)
    }

    player.collect = entity => {
      if (entity.collected || player.health <= 0) return
      const total = entity.itemCount ?? 1
      const taken = player.giveItems(entity.itemId, total)
      if (taken === 0) return
      entity._writeOthersNearby('collect', { collectedEntityId: entity.id, collectorEntityId: player.id, pickupItemCount: taken })
      if (taken === total) {
        entity.collected = true
        entity.destroy()
      } else {
        entity.itemCount = total - taken
        for (const p of entity.getNearbyPlayers()) sendItemMetadata(p, entity)
      }
    }
  })
}

/** entity_metadata with the item stack (key 8 'item' for item entities in 1.20.2+). */
function sendItemMetadata (player, entity) {
  const Item = require('prismarine-item')(player._client.version ?? entity.world?.registry ?? '1.21.1')
  const key = player._itemMetaKey ??= Math.max(0, (require('minecraft-data')(player._client.version).entitiesByName.item?.metadataKeys ?? []).indexOf('item'))
  player._client.write('entity_metadata', {
    entityId: entity.id,
    metadata: [{ key, type: 'item_stack', value: Item.toNotch(new Item(entity.itemId, entity.itemCount ?? 1)) }]
  })
}

module.exports.server = function (serv) {
  const itemEntityId = serv.registry.entitiesByName.item.id

  // flying-squid's digging reads registry.blockLoot[name].drops unguarded: blocks without a loot
  // entry (short_grass, fluids, bedrock, ...) throw there and can never be broken, and the client
  // is never told. Give them an empty entry; our 'dug_cancel' handler computes the real drops.
  for (const block of serv.registry.blocksArray) {
    if (serv.registry.blockLoot && !serv.registry.blockLoot[block.name]) {
      serv.registry.blockLoot[block.name] = { block: block.name, drops: [], lifelongPlaceholder: true }
    }
  }

  // flying-squid writes 1.19.3+ sound_effect packets in a shape the client cannot parse
  // (mineflayer prints 'partial packet' errors); sounds carry nothing a bot needs.
  serv.on('asap', () => {
    if (serv.supportFeature('removedNamedSoundEffectPacket')) serv.playSound = () => {}
  })

  // Vanilla pickup box: the player's box (0.6 x 1.8) grown by 1 block sideways and 0.5 up/down.
  // flying-squid only checks a 1.75 sphere around the feet, missing items on a ledge at head
  // height (e.g. a log dug from the ground that lands on the trunk below it).
  serv.on('tick', () => {
    const now = Date.now()
    for (const id in serv.entities) {
      const e = serv.entities[id]
      if (e.type !== 'object' || e.itemId === undefined || e.collected) continue
      if (!e.pickupTime || now - e.bornTime < e.pickupTime) continue
      for (const player of serv.players) {
        if (player.world !== e.world || player.health <= 0) continue
        const dx = Math.abs(e.position.x - player.position.x)
        const dz = Math.abs(e.position.z - player.position.z)
        const dy = e.position.y - player.position.y
        if (dx <= 1.3 && dz <= 1.3 && dy >= -0.75 && dy <= 2.3) { player.collect(e); break }
      }
    }
  })

  /** Spawn an item entity that players can pick up after half a second. */
  serv.dropItem = (world, position, type, count = 1) => serv.spawnObject(itemEntityId, world, position.offset(0, 0.25, 0), {
    velocity: new Vec3(Math.random() * 2 - 1, 3, Math.random() * 2 - 1),
    itemId: type,
    itemCount: count,
    pickupTime: 500,
    deathTime: 5 * 60 * 1000
  })
}
