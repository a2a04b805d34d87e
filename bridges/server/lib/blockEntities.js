'use strict'
/**
 * Persistent block-entity data (chest contents, furnace state) for one world.
 *
 * flying-squid saves chunks but has no block entities, so this keeps them in
 * one JSON file in the world folder: <worldFolder>/lifelong_block_entities.json
 *   { "version": 1, "chest": { "overworld:1,64,-3": [{slot, name, count, components?}] },
 *     "furnace": { "overworld:...": {input, fuel, output, litTime, ...} } }
 * Items are stored by name, not numeric id, so the file survives data updates.
 * Writes are atomic (temp file + rename), debounced after each change, and
 * forced when the server closes or the process exits. With no world folder
 * (an in-memory world) nothing is written.
 */
const fs = require('fs')
const path = require('path')

const FILE_NAME = 'lifelong_block_entities.json'
const SAVE_DELAY_MS = 1000

/** Key of a block position in a world ('overworld', 'nether', ...). */
function blockKey (worldName, pos) {
  return `${worldName}:${pos.x},${pos.y},${pos.z}`
}

/** Name of a flying-squid world object, for keys. */
function worldName (serv, world) {
  if (world === serv.netherworld) return 'nether'
  if (world === serv.endworld) return 'end'
  return 'overworld'
}

function worldByName (serv, name) {
  if (name === 'nether' && serv.netherworld) return serv.netherworld
  if (name === 'end' && serv.endworld) return serv.endworld
  return serv.overworld
}

class BlockEntityStore {
  constructor (worldFolder) {
    this.file = worldFolder ? path.join(worldFolder, FILE_NAME) : null
    this.data = { version: 1 }
    this.timer = null
    this.savers = [] // callbacks that copy live state into `data` before a write
    if (this.file && fs.existsSync(this.file)) {
      try {
        this.data = JSON.parse(fs.readFileSync(this.file, 'utf8'))
      } catch (err) {
        // keep the unreadable file for a human instead of overwriting it
        const aside = `${this.file}.corrupt-${Date.now()}`
        fs.renameSync(this.file, aside)
        process.stderr.write(`lifelong: ${this.file} was unreadable (${err.message}); moved to ${aside}, starting empty\n`)
      }
    }
  }

  /** The record table of a kind ('chest', 'furnace'), created on demand. */
  table (kind) {
    if (!this.data[kind]) this.data[kind] = {}
    return this.data[kind]
  }

  /** Registers a function that refreshes `data` from live objects before saving. */
  onSave (fn) { this.savers.push(fn) }

  /** Schedules a save soon (coalescing bursts of changes). */
  markDirty () {
    if (!this.file || this.timer) return
    this.timer = setTimeout(() => { this.timer = null; this.saveSync() }, SAVE_DELAY_MS)
    this.timer.unref?.()
  }

  /** Writes the file now, atomically. */
  saveSync () {
    if (this.timer) { clearTimeout(this.timer); this.timer = null }
    if (!this.file) return
    for (const fn of this.savers) fn()
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    const tmp = `${this.file}.tmp-${process.pid}`
    fs.writeFileSync(tmp, JSON.stringify(this.data))
    fs.renameSync(tmp, this.file)
  }
}

/** The store of a server (one per world folder), shared by the chest and furnace plugins. */
function storeFor (serv, settings) {
  if (serv._lifelongBlockEntities) return serv._lifelongBlockEntities
  const store = new BlockEntityStore(settings.worldFolder)
  serv._lifelongBlockEntities = store
  serv.saveBlockEntities = async () => store.saveSync()
  serv.on('close', () => store.saveSync())
  // the launcher (bridges/server/index.js) flushes plugin state on this event
  serv.on('lifelongSave', (waits) => waits.push(Promise.resolve().then(() => store.saveSync())))
  process.once('exit', () => { try { store.saveSync() } catch (err) { /* exiting anyway */ } })
  return store
}

/** Item -> JSON record (name + count + components, never a numeric id). */
function itemToRecord (item) {
  if (!item) return null
  const rec = { name: item.name, count: item.count }
  if (item.components?.length) rec.components = item.components
  return rec
}

/** JSON record -> prismarine Item (null if the item no longer exists). */
function recordToItem (Item, registry, rec) {
  if (!rec) return null
  const def = registry.itemsByName[rec.name]
  if (!def) return null
  const comps = rec.components ?? []
  return Item.fromNotch({ present: true, itemCount: rec.count, itemId: def.id, addedComponentCount: comps.length, removedComponentCount: 0, components: comps, removeComponents: [] })
}

/** Drops an item stack as an entity at the centre of a block (contents of a broken container). */
function dropAt (serv, world, position, item) {
  const { Vec3 } = require('vec3')
  serv.spawnObject(serv.registry.entitiesByName.item.id, world, position.offset(0.5, 0.5, 0.5), {
    velocity: new Vec3(Math.random() - 0.5, 1, Math.random() - 0.5),
    itemId: item.type,
    itemCount: item.count,
    pickupTime: 500,
    deathTime: 60 * 5 * 1000
  })
}

/**
 * Calls forget(world, position) whenever a player places one of `blockNames`:
 * a new container starts empty even if an old record survived at that spot
 * (a block removed by /setblock or an explosion never reports it).
 */
function onContainerPlaced (serv, blockNames, forget) {
  const ids = new Set(blockNames.map(n => serv.registry.blocksByName[n]?.id).filter(id => id !== undefined))
  serv.once('asap', () => {
    const original = serv.placeItem
    serv.placeItem = (data) => {
      const out = original(data)
      Promise.resolve(out).then(res => {
        if (ids.has(res?.id) && data.player) forget(data.player.world, data.placedPosition)
      }).catch(err => serv.emit('error', err))
      return out
    }
  })
}

module.exports = { onContainerPlaced, dropAt, BlockEntityStore, storeFor, blockKey, worldName, worldByName, itemToRecord, recordToItem, FILE_NAME }
