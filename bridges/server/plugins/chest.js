'use strict'
/**
 * flying-squid plugin: chests (and barrels and trapped chests) that hold
 * items. Using the block opens a minecraft:generic_9x3 window (27 slots, then
 * the player inventory) that works with mineflayer's bot.openContainer(),
 * deposit() and withdraw(). Contents are kept per block position and saved in
 * the world folder (lib/blockEntities.js), so they survive a restart. Breaking
 * the block drops its contents. Everyone looking into the same chest sees the
 * same slots. Double chests are not modelled: each chest block is 27 slots.
 */
const { Menu, attachMenus, onBlockUse, windowProtocolType } = require('../lib/menus')
const { storeFor, blockKey, worldName, itemToRecord, recordToItem, dropAt, onContainerPlaced } = require('../lib/blockEntities')

const SIZE = 27
const CONTAINERS = { chest: 'container.chest', trapped_chest: 'container.chest', barrel: 'container.barrel' }

class ChestMenu extends Menu {
  constructor (player, id, chest, title) {
    super(player, { id, typeName: 'minecraft:generic_9x3', title: { translate: title }, containerSize: SIZE })
    this.chest = chest
  }

  getContainer (i) { return this.chest.slots[i] ?? null }
  setContainer (i, item) {
    this.chest.slots[i] = item
    this.chest.changed(this)
  }

  quickMoveStack (i) {
    return i < SIZE ? this.moveItemStackTo(i, SIZE, SIZE + 36, true) : this.moveItemStackTo(i, 0, SIZE)
  }

  onClose () { this.chest.viewers.delete(this) }
}

module.exports.server = function (serv, settings) {
  const Item = require('prismarine-item')(serv.registry)
  const store = storeFor(serv, settings)
  const records = store.table('chest')
  const live = new Map() // key -> {slots, viewers, changed}

  /** The live chest at a position, loaded from the saved records on first use. */
  const chestAt = (key) => {
    let chest = live.get(key)
    if (chest) return chest
    const slots = new Array(SIZE).fill(null)
    for (const rec of records[key] ?? []) slots[rec.slot] = recordToItem(Item, serv.registry, rec)
    chest = {
      slots,
      viewers: new Set(),
      changed (byMenu) {
        store.markDirty()
        // other players looking into this chest see the change
        for (const menu of chest.viewers) if (menu !== byMenu) setImmediate(() => menu.broadcastChanges())
      }
    }
    live.set(key, chest)
    return chest
  }

  store.onSave(() => {
    for (const [key, chest] of live) {
      const items = chest.slots.map((item, slot) => item && { slot, ...itemToRecord(item) }).filter(Boolean)
      if (items.length) records[key] = items
      else delete records[key]
    }
  })

  const protocolType = windowProtocolType(serv.registry, 'minecraft:generic_9x3')
  for (const [name, title] of Object.entries(CONTAINERS)) {
    if (!serv.registry.blocksByName[name]) continue
    onBlockUse(serv, name, ({ block, player }) => {
      const chest = chestAt(blockKey(worldName(serv, player.world), block.position))
      const menus = attachMenus(player, serv)
      const menu = menus.open((id) => new ChestMenu(player, id, chest, title), protocolType)
      chest.viewers.add(menu)
      return true
    })
  }

  /** A broken container drops what it held (unless `drop` is false) and forgets it. */
  serv._lifelongChestBroken = (world, position, drop = true) => {
    const key = blockKey(worldName(serv, world), position)
    if (!live.has(key) && !records[key]) return
    const chest = chestAt(key)
    for (const menu of [...chest.viewers]) menu.player._menus.closeCurrent(true)
    for (const item of chest.slots) {
      if (item && drop) dropAt(serv, world, position, item)
    }
    live.delete(key)
    delete records[key]
    store.markDirty()
  }
  onContainerPlaced(serv, Object.keys(CONTAINERS), (world, position) => serv._lifelongChestBroken(world, position, false))
}

module.exports.player = function (player, serv) {
  player.on('dug_done', (data, cancelled) => {
    if (cancelled || !CONTAINERS[data.block?.name]) return
    serv._lifelongChestBroken?.(player.world, data.position)
  })
}

module.exports.ChestMenu = ChestMenu
