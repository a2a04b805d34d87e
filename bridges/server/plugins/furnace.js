'use strict'
/**
 * flying-squid plugin: furnaces that smelt. Using a placed furnace opens a
 * minecraft:furnace window (0 input, 1 fuel, 2 output, then the inventory)
 * that works with mineflayer's bot.openFurnace(): progress and fuel go out as
 * window properties (craft_progress_bar 0 fuel left, 1 fuel total, 2 cook
 * progress, 3 cook total) and the output appears in slot 2.
 *
 * Every furnace is ticked by the server tick (20/s) whether or not a window is
 * open, so smelting goes on after the bot walks away; the block shows lit=true
 * while burning. Rules and tables live in lib/smelting.js (pure, unit-tested);
 * state persists in the world folder with the chests (lib/blockEntities.js).
 * Unlike vanilla, furnaces in unloaded chunks keep working (simpler, and a bot
 * that walks away expects its iron). Blast furnaces (ores and metal) and
 * smokers (food) work the same way at twice the speed (their own windows).
 */
const { Menu, attachMenus, onBlockUse, windowProtocolType } = require('../lib/menus')
const { createSmeltingBook, newFurnaceState, tickFurnace, furnaceActive, KINDS } = require('../lib/smelting')
const { storeFor, blockKey, worldName, worldByName, dropAt, onContainerPlaced } = require('../lib/blockEntities')
const { Vec3 } = require('vec3')
const { serverClock } = require('./clock')

const SLOT_NAMES = ['input', 'fuel', 'output']
const PROPERTIES = ['litTime', 'litDuration', 'cookProgress', 'cookTotal']

class FurnaceMenu extends Menu {
  constructor (player, id, furnace, kind = 'furnace') {
    super(player, { id, typeName: `minecraft:${kind}`, title: { translate: `container.${kind}` }, containerSize: 3 })
    this.furnace = furnace
    this.sentProperties = [null, null, null, null]
  }

  getContainer (i) {
    const slot = this.furnace.state[SLOT_NAMES[i]]
    return slot ? new this.tools.Item(slot.id, slot.count) : null
  }

  setContainer (i, item) {
    this.furnace.state[SLOT_NAMES[i]] = item ? { id: item.type, count: item.count } : null
    this.furnace.changed(this)
  }

  isResultSlot (i) { return i === 2 }
  mayPlace (i, item) {
    if (i === 2) return false
    if (i === 1) return this.furnace.book.burnTime(item.type) > 0 || item.name === 'bucket'
    return true
  }

  /** Taking the output pays out the experience its smelting earned (vanilla rounds randomly). */
  onTake (i) {
    if (i !== 2) return
    const earned = this.furnace.state.experience
    this.furnace.state.experience = 0
    const points = Math.floor(earned) + (Math.random() < earned % 1 ? 1 : 0)
    if (points > 0 && this.player.setXp) this.player.setXp((this.player.xp ?? 0) + points)
  }

  quickMoveStack (i) {
    if (i === 2) return this.moveItemStackTo(2, 3, 39, true) && (this.onTake(2), true)
    if (i < 3) return this.moveItemStackTo(i, 3, 39)
    const item = this.get(i)
    if (!item) return false
    if (this.furnace.book.resultFor(item.type) && this.moveItemStackTo(i, 0, 1)) return true
    if (this.furnace.book.burnTime(item.type) > 0 && this.moveItemStackTo(i, 1, 2)) return true
    return i < 30 ? this.moveItemStackTo(i, 30, 39) : this.moveItemStackTo(i, 3, 30)
  }

  /**
   * Sends the window properties (0 fuel left, 1 fuel total, 2 progress,
   * 3 progress total) when any of them changed, or all of them if `force`.
   * Totals go first and are always resent with the rest: mineflayer divides by
   * the total it last saw and drops properties that arrive before its
   * openFurnace() promise resolved, so a total sent only once can be lost.
   */
  sendProperties (force = false) {
    if (this.closed) return
    const values = PROPERTIES.map(name => this.furnace.state[name])
    if (!force && values.every((v, i) => v === this.sentProperties[i])) return
    this.sentProperties = values
    for (const property of [1, 3, 0, 2]) {
      this.player._client.write('craft_progress_bar', { windowId: this.id, property, value: values[property] })
    }
  }

  onClose () { this.furnace.viewers.delete(this) }
}

module.exports.server = function (serv, settings) {
  serverClock(serv, settings) // game-time timers, whether or not the clock plugin is loaded
  const store = storeFor(serv, settings)
  const kinds = Object.keys(KINDS).filter(kind => serv.registry.blocksByName[kind])
  const furnaces = Object.fromEntries(kinds.map(kind => [kind, setupKind(serv, store, kind)]))
  serv.on('tick', () => { for (const kind of kinds) furnaces[kind].tick() })
  /** A broken furnace drops its slots and forgets its state. */
  serv._lifelongFurnaceBroken = (world, position, kind, drop = true) => furnaces[kind]?.broken(world, position, drop)
  serv._lifelongFurnaces = furnaces
  // a newly placed furnace starts empty, whatever a vanished one left behind
  onContainerPlaced(serv, kinds, (world, position) => {
    for (const kind of kinds) furnaces[kind].broken(world, position, false)
  })
}

/** Furnaces of one kind: live state, persistence, ticking and the block-use handler. */
function setupKind (serv, store, kind) {
  const registry = serv.registry
  const book = createSmeltingBook(registry, kind)
  const records = store.table(kind)
  const live = new Map() // key -> furnace
  const active = new Set() // furnaces that need ticking
  const stackSize = (id) => registry.items[id]?.stackSize ?? 64

  const fromRecord = (rec) => {
    const state = { ...newFurnaceState(book.cookTime()), ...rec }
    for (const slot of SLOT_NAMES) {
      const r = rec[slot]
      const def = r && registry.itemsByName[r.name]
      state[slot] = def ? { id: def.id, count: r.count } : null
    }
    return state
  }
  const toRecord = (state) => {
    const rec = { ...state }
    for (const slot of SLOT_NAMES) {
      rec[slot] = state[slot] ? { name: registry.items[state[slot].id].name, count: state[slot].count } : null
    }
    return rec
  }

  const furnaceAt = (key) => {
    let furnace = live.get(key)
    if (furnace) return furnace
    furnace = {
      key,
      book,
      state: records[key] ? fromRecord(records[key]) : newFurnaceState(book.cookTime()),
      viewers: new Set(),
      lit: null,
      changed (byMenu) {
        store.markDirty()
        active.add(furnace)
        for (const menu of furnace.viewers) if (menu !== byMenu) setImmediate(() => menu.broadcastChanges())
      }
    }
    live.set(key, furnace)
    if (furnaceActive(furnace.state, book)) active.add(furnace)
    return furnace
  }

  // furnaces that were burning when the world was saved start again at once
  for (const key of Object.keys(records)) furnaceAt(key)

  store.onSave(() => {
    for (const [key, furnace] of live) {
      const s = furnace.state
      if (s.input || s.fuel || s.output || s.litTime > 0) records[key] = toRecord(s)
      else delete records[key]
    }
  })

  /** Shows lit=true/false on the furnace block when burning starts or stops. */
  const showLit = async (furnace) => {
    const lit = furnace.state.litTime > 0
    // every second, also notice a furnace removed without digging (/setblock)
    if (furnace.lit === lit && serv.tickCount % 20 !== 0) return
    furnace.lit = lit
    const [name, coords] = furnace.key.split(':')
    const [x, y, z] = coords.split(',').map(Number)
    const world = worldByName(serv, name)
    const pos = new Vec3(x, y, z)
    const block = await world.getBlock(pos)
    if (block?.name !== kind) return broken(world, pos, false)
    const props = block.getProperties()
    if (props.lit === lit) return
    const Block = require('prismarine-block')(registry)
    const next = Block.fromProperties(kind, { ...props, lit }, block.biome?.id ?? 0)
    await serv.setBlock(world, pos, next.stateId)
  }

  const tick = () => {
    for (const furnace of active) {
      const changed = tickFurnace(furnace.state, book, stackSize)
      if (changed) store.markDirty()
      for (const menu of furnace.viewers) {
        if (changed) menu.broadcastChanges()
        menu.sendProperties()
      }
      showLit(furnace).catch(err => serv.emit('error', err))
      if (!furnaceActive(furnace.state, book)) {
        active.delete(furnace)
        store.markDirty()
      }
    }
  }

  const protocolType = windowProtocolType(registry, `minecraft:${kind}`)
  onBlockUse(serv, kind, ({ block, player }) => {
    const furnace = furnaceAt(blockKey(worldName(serv, player.world), block.position))
    const menus = attachMenus(player, serv)
    const menu = menus.open((id) => new FurnaceMenu(player, id, furnace, kind), protocolType)
    furnace.viewers.add(menu)
    // later, like vanilla (a tick): mineflayer's openFurnace() only listens
    // for properties once its windowOpen promise has resolved; once more a
    // second later for a client that was busy (an idle furnace sends no more)
    serv.clock.setTimeout(() => menu.sendProperties(true), 50)
    setTimeout(() => menu.sendProperties(true), 1000)
    return true
  })

  /** A broken furnace drops its slots (unless `drop` is false) and forgets its state. */
  const broken = (world, position, drop = true) => {
    const key = blockKey(worldName(serv, world), position)
    if (!live.has(key) && !records[key]) return
    const furnace = furnaceAt(key)
    for (const menu of [...furnace.viewers]) menu.player._menus.closeCurrent(true)
    const Item = require('prismarine-item')(registry)
    for (const slot of SLOT_NAMES) {
      const s = furnace.state[slot]
      if (s && drop) dropAt(serv, world, position, new Item(s.id, s.count))
    }
    active.delete(furnace)
    live.delete(key)
    delete records[key]
    store.markDirty()
  }
  return { tick, broken, furnaceAt, book }
}

module.exports.player = function (player, serv) {
  player.on('dug_done', (data, cancelled) => {
    if (cancelled || !KINDS[data.block?.name]) return
    serv._lifelongFurnaceBroken?.(player.world, data.position, data.block.name)
  })
}

module.exports.FurnaceMenu = FurnaceMenu
