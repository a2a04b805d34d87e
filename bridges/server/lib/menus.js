'use strict'
/**
 * Server-side windows ("menus") for flying-squid: the click rules of vanilla's
 * AbstractContainerMenu and the 1.17+ slot synchronisation, shared by the
 * crafting, furnace and chest plugins.
 *
 * Why this exists: flying-squid feeds every window_click, whatever its
 * windowId, into the player inventory's prismarine-windows model, has no
 * result slots and never sends stateIds. Mineflayer (and the vanilla client)
 * predict each click locally and send the slots they think changed; the server
 * must apply the click itself and correct only what the client got wrong.
 *
 * Synchronisation follows vanilla: each menu keeps a model of what the client
 * believes ("remote" slots and cursor). After a click the client's claims
 * update that model; then every slot where server and model differ is sent as
 * set_slot. A click with stateId -1 (mineflayer's _syncWindow) or a cursor the
 * client got wrong is answered with the full window_items. Items are treated
 * as values: menus read with get(i) and write with set(i, item), never mutate.
 */
const Vec3 = require('vec3').Vec3

/** Vanilla click modes (ClickType). */
const PICKUP = 0
const QUICK_MOVE = 1
const SWAP = 2
const CLONE = 3
const THROW = 4
const QUICK_CRAFT = 5
const PICKUP_ALL = 6

function itemTools (registry) {
  const Item = require('prismarine-item')(registry)
  /** A fresh copy of an item, optionally with another count (null for count <= 0). */
  const copy = (item, count = item?.count) => {
    if (!item || count <= 0) return null
    const out = Item.fromNotch(Item.toNotch(item))
    out.count = count
    return out
  }
  const same = (a, b) => !!a && !!b && a.type === b.type && JSON.stringify(a.components ?? a.nbt ?? null) === JSON.stringify(b.components ?? b.nbt ?? null)
  const equal = (a, b) => (a == null && b == null) || (same(a, b) && a.count === b.count)
  return { Item, copy, same, equal }
}

/**
 * Base menu. Slots [0, containerSize) belong to the container; for windows
 * other than the player's own (id 0) the next 36 slots are the player's main
 * inventory (27) and hotbar (9), backed by player.inventory slots 9..44.
 */
class Menu {
  constructor (player, { id, typeName, title, containerSize }) {
    this.player = player
    this.serv = player._menus.serv
    this.tools = player._menus.tools
    this.id = id
    this.typeName = typeName
    this.title = title
    this.containerSize = containerSize
    this.size = id === 0 ? 46 : containerSize + 36
    this.remote = new Array(this.size).fill(null)
    this.remoteCarried = null
    this.closed = false
  }

  // ---- slot access -------------------------------------------------------
  inventorySlot (i) { return i - this.containerSize + 9 }
  isInventory (i) { return this.id !== 0 && i >= this.containerSize && i < this.size }
  get (i) {
    if (this.isInventory(i)) return this.player.inventory.slots[this.inventorySlot(i)] ?? null
    return this.getContainer(i)
  }

  set (i, item) {
    if (item && item.count <= 0) item = null
    if (this.isInventory(i)) this.player.inventory.updateSlot(this.inventorySlot(i), item)
    else this.setContainer(i, item)
  }

  getContainer (i) { throw new Error('getContainer not implemented') }
  setContainer (i, item) { throw new Error('setContainer not implemented') }

  get carried () { return this.player._menus.carried }
  set carried (item) { this.player._menus.carried = item && item.count > 0 ? item : null }

  // ---- per-menu rules (overridden) ---------------------------------------
  /** A take-only output slot (crafting result, furnace output). */
  isResultSlot (i) { return false }
  /** Whether `item` may be put into slot i. */
  mayPlace (i, item) { return !this.isResultSlot(i) }
  /** Largest stack slot i holds of `item`. */
  maxStack (i, item) { return item.stackSize }
  /** Called after the result in slot i was taken (`item` is what was taken). */
  onTake (i, item) {}
  /**
   * Called after a click; crafting grids recompute their result here and, if
   * `announce`, send it (mineflayer waits for slot 0 after each grid click).
   */
  afterClick (click, announce) {}
  /** Shift-click: moves the stack in slot i elsewhere; returns true if anything moved. */
  quickMoveStack (i) { return false }
  /** Called once when the window closes (return grid items, drop the cursor...). */
  onClose () {}

  // ---- click handling (vanilla AbstractContainerMenu.doClick) -------------
  /** Applies one click; returns false for a click vanilla would not accept. */
  click ({ slot, mouseButton: button, mode }) {
    const inside = slot >= 0 && slot < this.size
    switch (mode) {
      case PICKUP: return (button === 0 || button === 1) && (slot === -999 ? this.throwCarried(button) : inside && this.pickup(slot, button))
      case QUICK_MOVE: return (button === 0 || button === 1) && (slot === -999 || (inside && this.quickMove(slot)))
      case SWAP: return ((button >= 0 && button <= 8) || button === 40) && inside && this.swapWithHotbar(slot, button === 40 ? 45 : 36 + button)
      case CLONE: return this.cloneToCursor(slot)
      case THROW: return (button === 0 || button === 1) && this.throwFromSlot(slot, button === 1)
      case QUICK_CRAFT: return this.dragClick(slot, button)
      case PICKUP_ALL: return button === 0 && this.pickupAll(slot)
      default: return false
    }
  }

  /** Click outside the window: drop the cursor (left) or one of it (right). */
  throwCarried (button) {
    const { copy } = this.tools
    const carried = this.carried
    if (!carried) return true
    const n = button === 0 ? carried.count : 1
    this.drop(copy(carried, n))
    this.carried = copy(carried, carried.count - n)
    return true
  }

  /** Left/right click on a slot: take, put, merge or swap (vanilla PICKUP). */
  pickup (slot, button) {
    const { copy, same } = this.tools
    if (this.isResultSlot(slot)) return this.takeResult(slot)
    const item = this.get(slot)
    const carried = this.carried
    if (!item) {
      if (carried && this.mayPlace(slot, carried)) {
        const n = Math.min(button === 0 ? carried.count : 1, this.maxStack(slot, carried))
        this.set(slot, copy(carried, n))
        this.carried = copy(carried, carried.count - n)
      }
    } else if (!carried) {
      const n = button === 0 ? item.count : Math.ceil(item.count / 2)
      this.carried = copy(item, n)
      this.set(slot, copy(item, item.count - n))
    } else if (this.mayPlace(slot, carried)) {
      if (same(item, carried)) {
        const n = Math.min(button === 0 ? carried.count : 1, this.maxStack(slot, carried) - item.count)
        if (n > 0) {
          this.set(slot, copy(item, item.count + n))
          this.carried = copy(carried, carried.count - n)
        }
      } else if (carried.count <= this.maxStack(slot, carried)) {
        this.set(slot, copy(carried))
        this.carried = copy(item)
      }
    } else if (same(item, carried) && carried.count + item.count <= carried.stackSize) {
      this.carried = copy(carried, carried.count + item.count)
      this.set(slot, null)
    }
    return true
  }

  /** Shift-click; on a result slot vanilla repeats it while the same item comes out. */
  quickMove (slot) {
    const { same } = this.tools
    if (!this.isResultSlot(slot)) {
      this.quickMoveStack(slot)
      return true
    }
    const first = this.get(slot)
    for (let guard = 0; guard < 64 && first; guard++) {
      const now = this.get(slot)
      if (!now || !same(now, first) || !this.quickMoveStack(slot)) break
    }
    return true
  }

  /** Number key (or F for the offhand): swap a slot with a hotbar slot. */
  swapWithHotbar (slot, hotbar) {
    const { copy } = this.tools
    const inHotbar = this.player.inventory.slots[hotbar] ?? null
    const item = this.get(slot)
    if (this.isResultSlot(slot)) {
      if (item && !inHotbar) {
        this.set(slot, null)
        this.player.inventory.updateSlot(hotbar, copy(item))
        this.onTake(slot, item)
      }
      return true
    }
    if (inHotbar && (!this.mayPlace(slot, inHotbar) || inHotbar.count > this.maxStack(slot, inHotbar))) return true
    // write the hotbar first: for window 0, `slot` may itself be a hotbar slot
    this.player.inventory.updateSlot(hotbar, copy(item))
    this.set(slot, copy(inHotbar))
    return true
  }

  /** Middle click: a full stack of the slot's item, in creative mode only. */
  cloneToCursor (slot) {
    if (this.player.gameMode === 1 && !this.carried && slot >= 0 && slot < this.size) {
      const item = this.get(slot)
      if (item) this.carried = this.tools.copy(item, item.stackSize)
    }
    return true
  }

  /** Q / ctrl-Q over a slot: drop one item or the whole stack. */
  throwFromSlot (slot, wholeStack) {
    const { copy } = this.tools
    if (this.carried || slot < 0 || slot >= this.size) return true
    const item = this.get(slot)
    if (!item) return true
    if (this.isResultSlot(slot)) {
      this.set(slot, null)
      this.drop(copy(item))
      this.onTake(slot, item)
      return true
    }
    const n = wholeStack ? item.count : 1
    this.drop(copy(item, n))
    this.set(slot, copy(item, item.count - n))
    return true
  }

  /** Double click: gather equal items onto the cursor, partial stacks first. */
  pickupAll (slot) {
    const { copy, same } = this.tools
    const carried = this.carried
    if (!carried || (slot >= 0 && slot < this.size && this.isResultSlot(slot))) return true
    let count = carried.count
    for (const takeFull of [false, true]) {
      for (let i = 0; i < this.size && count < carried.stackSize; i++) {
        const item = this.get(i)
        if (!item || this.isResultSlot(i) || !same(item, carried)) continue
        if (!takeFull && item.count === item.stackSize) continue
        const n = Math.min(item.count, carried.stackSize - count)
        count += n
        this.set(i, copy(item, item.count - n))
      }
    }
    this.carried = copy(carried, count)
    return true
  }

  /** Result slots give their whole stack, or nothing (vanilla ResultSlot). */
  takeResult (slot) {
    const { copy, same } = this.tools
    const item = this.get(slot)
    if (!item) return true
    const carried = this.carried
    if (!carried) {
      this.carried = copy(item)
    } else if (same(carried, item) && carried.count + item.count <= carried.stackSize) {
      this.carried = copy(carried, carried.count + item.count)
    } else {
      return true
    }
    this.set(slot, null)
    this.onTake(slot, item)
    return true
  }

  /** Drag-splitting (mode 5): left spreads evenly, right puts one per slot. */
  dragClick (slot, button) {
    const { copy, same } = this.tools
    const phase = button & 3
    const kind = button >> 2 // 0 left, 1 right, 2 middle (creative)
    const drag = this.player._menus.drag
    if (phase === 0) {
      this.player._menus.drag = this.carried ? { kind, slots: [] } : null
      return true
    }
    if (!drag || drag.kind !== kind) { this.player._menus.drag = null; return phase === 2 }
    if (phase === 1) {
      const item = this.get(slot)
      if (slot >= 0 && slot < this.size && !drag.slots.includes(slot) && this.carried && this.mayPlace(slot, this.carried) &&
          (!item || same(item, this.carried))) drag.slots.push(slot)
      return true
    }
    this.player._menus.drag = null
    const carried = this.carried
    if (!carried || drag.slots.length === 0) return true
    if (kind === 2 && this.player.gameMode !== 1) return true
    let left = carried.count
    const each = kind === 0 ? Math.floor(carried.count / drag.slots.length) : kind === 1 ? 1 : carried.stackSize
    for (const i of drag.slots) {
      if (kind !== 2 && left <= 0) break
      const item = this.get(i)
      const have = item ? item.count : 0
      const n = Math.max(0, Math.min(kind === 2 ? each : Math.min(each, left), this.maxStack(i, carried) - have))
      if (n === 0) continue
      this.set(i, copy(carried, have + n))
      if (kind !== 2) left -= n
    }
    if (kind !== 2) this.carried = copy(carried, left)
    return true
  }

  /**
   * Moves `item` (from slot `from`) into slots [start, end): first onto equal
   * stacks, then into the first empty slot (vanilla moveItemStackTo). Updates
   * the source slot; returns true if anything moved.
   */
  moveItemStackTo (from, start, end, reverse = false) {
    const { copy, same } = this.tools
    const item = this.get(from)
    if (!item) return false
    let count = item.count
    const order = []
    for (let i = start; i < end; i++) order.push(i)
    if (reverse) order.reverse()
    if (item.stackSize > 1) {
      for (const i of order) {
        if (count <= 0) break
        const there = this.get(i)
        if (!there || !same(there, item)) continue
        const max = Math.min(this.maxStack(i, item), item.stackSize)
        const n = Math.min(count, max - there.count)
        if (n <= 0) continue
        this.set(i, copy(there, there.count + n))
        count -= n
      }
    }
    if (count > 0) {
      for (const i of order) {
        if (this.get(i) || !this.mayPlace(i, item)) continue
        const n = Math.min(count, this.maxStack(i, item))
        this.set(i, copy(item, n))
        count -= n
        break
      }
    }
    if (count === item.count) return false
    this.set(from, copy(item, count))
    return true
  }

  /** Whether `stack` would fit entirely into slots [start, end). */
  fits (stack, start, end) {
    const { same } = this.tools
    let count = stack.count
    for (let i = start; i < end && count > 0; i++) {
      const there = this.get(i)
      if (!there) count -= Math.min(stack.stackSize, this.mayPlace(i, stack) ? this.maxStack(i, stack) : 0)
      else if (same(there, stack)) count -= Math.max(0, stack.stackSize - there.count)
    }
    return count <= 0
  }

  /**
   * Puts an item into the player's inventory (stacks first, then empty slots,
   * hotbar before main like vanilla Inventory.add); drops what does not fit.
   */
  giveToPlayer (item) {
    if (!item) return
    const { copy, same } = this.tools
    const inv = this.player.inventory
    let count = item.count
    const order = []
    for (let i = 36; i < 45; i++) order.push(i)
    for (let i = 9; i < 36; i++) order.push(i)
    for (const i of order) {
      const there = inv.slots[i]
      if (count <= 0) break
      if (!there || !same(there, item) || there.count >= there.stackSize) continue
      const n = Math.min(count, there.stackSize - there.count)
      inv.updateSlot(i, copy(there, there.count + n))
      count -= n
    }
    for (const i of order) {
      if (count <= 0) break
      if (inv.slots[i]) continue
      const n = Math.min(count, item.stackSize)
      inv.updateSlot(i, copy(item, n))
      count -= n
    }
    if (count > 0) this.drop(copy(item, count))
  }

  /** Spawns an item entity at the player's eyes (thrown out of a window). */
  drop (item) {
    if (!item) return
    const serv = this.serv
    const entity = serv.registry.entitiesByName.item
    serv.spawnObject(entity.id, this.player.world, this.player.position.offset(0, 1.2, 0), {
      velocity: new Vec3(0, 0, 0),
      itemId: item.type,
      itemCount: item.count,
      pickupTime: 500,
      deathTime: 60 * 5 * 1000
    })
  }

  // ---- synchronisation ----------------------------------------------------
  nextStateId () {
    const menus = this.player._menus
    menus.stateId = (menus.stateId + 1) & 0x7fff
    return menus.stateId
  }

  /** Sends one slot and records that the client now has it. */
  sendSlot (i) {
    const { Item, copy } = this.tools
    const item = this.get(i)
    this.remote[i] = copy(item)
    this.player._client.write('set_slot', { windowId: this.id, stateId: this.nextStateId(), slot: i, item: Item.toNotch(item) })
  }

  /** Sends every slot and the cursor (window_items). */
  sendAll () {
    const { Item, copy } = this.tools
    const items = []
    for (let i = 0; i < this.size; i++) {
      const item = this.get(i)
      this.remote[i] = copy(item)
      items.push(Item.toNotch(item))
    }
    this.remoteCarried = copy(this.carried)
    this.player._client.write('window_items', { windowId: this.id, stateId: this.nextStateId(), items, carriedItem: Item.toNotch(this.carried) })
  }

  /** Sends the slots where the client's view differs from the server's. */
  broadcastChanges () {
    if (this.closed) return
    const { equal } = this.tools
    if (!equal(this.carried, this.remoteCarried)) return this.sendAll()
    for (let i = 0; i < this.size; i++) {
      if (!equal(this.get(i), this.remote[i])) this.sendSlot(i)
    }
  }

  /** Entry point for a window_click packet addressed to this menu. */
  handleClick (packet) {
    const { Item } = this.tools
    let ok = false
    try {
      ok = this.click(packet)
    } catch (err) {
      this.serv.emit('error', err)
    }
    if (!ok || packet.stateId < 0) {
      this.afterClick(packet, false)
      this.sendAll()
      return
    }
    for (const { location, item } of packet.changedSlots ?? []) {
      if (location >= 0 && location < this.size) this.remote[location] = Item.fromNotch(item)
    }
    this.remoteCarried = packet.cursorItem ? Item.fromNotch(packet.cursorItem) : null
    // corrections first, then the crafting result: mineflayer resumes as soon
    // as it sees slot 0, so by then every other slot must be on its way
    this.broadcastChanges()
    this.afterClick(packet, true)
  }
}

/**
 * The player's own window (id 0): 0 crafting result, 1-4 crafting grid, 5-8
 * armour, 9-35 main, 36-44 hotbar, 45 offhand; all stored in player.inventory.
 * The crafting plugin sets `crafting` to give slots 0-4 their meaning.
 */
class InventoryMenu extends Menu {
  constructor (player) {
    super(player, { id: 0, typeName: 'minecraft:inventory', title: 'Inventory', containerSize: 46 })
    this.crafting = null
  }

  getContainer (i) { return this.player.inventory.slots[i] ?? null }
  setContainer (i, item) {
    if (i !== 0) return this.player.inventory.updateSlot(i, item)
    // the result slot changes silently: the crafter sends its final value
    // once per click (through updateSlot every intermediate would be sent)
    if (item) item.slot = 0
    this.player.inventory.slots[0] = item
  }
  isResultSlot (i) { return i === 0 }
  mayPlace (i, item) {
    if (i === 0) return false
    if (i >= 5 && i <= 8) return armorSlotOf(item) === i
    return true
  }

  maxStack (i, item) { return i >= 5 && i <= 8 ? 1 : item.stackSize }
  onTake (i, item) { if (i === 0) this.crafting?.onTake(this, item) }
  afterClick (click, announce) { this.crafting?.afterClick(this, click, announce) }

  quickMoveStack (i) {
    if (i === 0) return this.crafting ? this.crafting.quickCraft(this, 9, 45) : false
    if (i >= 1 && i <= 8) return this.moveItemStackTo(i, 9, 45)
    const item = this.get(i)
    if (!item) return false
    const armor = armorSlotOf(item)
    if (armor !== null && !this.get(armor) && this.moveItemStackTo(i, armor, armor + 1)) return true
    if (i === 45) return this.moveItemStackTo(i, 9, 45)
    if (i >= 9 && i < 36) return this.moveItemStackTo(i, 36, 45)
    if (i >= 36 && i < 45) return this.moveItemStackTo(i, 9, 36)
    return false
  }
}

/** Player window slot (5 helmet .. 8 boots) for a wearable item, else null. */
function armorSlotOf (item) {
  const name = item?.name ?? ''
  if (/_helmet$|^turtle_helmet$|^carved_pumpkin$|_head$|_skull$/.test(name)) return 5
  if (/_chestplate$|^elytra$/.test(name)) return 6
  if (/_leggings$/.test(name)) return 7
  if (/_boots$/.test(name)) return 8
  return null
}

/**
 * Installs the menu system on a player (idempotent: each of our plugins calls
 * it, whichever loads first wins). Must run after flying-squid's inventory
 * plugin has created player.inventory, i.e. on the player's 'asap' event.
 */
function attachMenus (player, serv) {
  if (player._menus) return player._menus
  const menus = {
    serv,
    tools: itemTools(serv.registry),
    carried: null,
    drag: null,
    stateId: 0,
    counter: 0,
    current: null,
    inventory: null,
    /** Opens a container menu built by `build(windowId)`. */
    open (build, protocolType) {
      menus.closeCurrent(false)
      menus.counter = menus.counter % 100 + 1
      const menu = build(menus.counter)
      menus.current = menu
      player._client.write('open_window', {
        windowId: menu.id,
        inventoryType: protocolType,
        windowTitle: serv._createChatComponent(menu.title).toNetworkFormat()
      })
      menu.sendAll()
      return menu
    },
    /** Closes the open container (server side; tells the client if asked). */
    closeCurrent (tellClient) {
      const menu = menus.current
      if (!menu) return
      menus.current = null
      if (tellClient) player._client.write('close_window', { windowId: menu.id })
      finishClose(menu)
    }
  }
  player._menus = menus
  menus.inventory = new InventoryMenu(player)

  const finishClose = (menu) => {
    try {
      menu.onClose()
      if (menus.carried) { const c = menus.carried; menus.carried = null; menu.giveToPlayer(c) }
    } catch (err) { serv.emit('error', err) }
    menu.closed = true
    menus.inventory.broadcastChanges()
  }

  // flying-squid's own handler applies every click to player.inventory,
  // whatever window it is for; ours replaces it (found by what it calls).
  const builtin = player._client.listeners('window_click').filter(l => String(l).includes('player.inventory.acceptClick'))
  for (const listener of builtin) player._client.removeListener('window_click', listener)
  if (builtin.length !== 1) serv.warn?.(`lifelong menus: expected flying-squid's one window_click handler, found ${builtin.length}; clicks may be applied twice`)
  player._client.on('window_click', (packet) => {
    if (packet.windowId === 0) return menus.inventory.handleClick(packet)
    const menu = menus.current
    if (menu && menu.id === packet.windowId) return menu.handleClick(packet)
    // a click for a window we already closed: resend the real inventory
    menus.inventory.sendAll()
  })
  player._client.on('close_window', ({ windowId }) => {
    if (windowId === 0) {
      menus.inventory.onCloseInventory()
      return
    }
    if (menus.current && menus.current.id === windowId) menus.closeCurrent(false)
  })
  // slots written by flying-squid (pickups, /give, placing) are sent by its
  // inventory plugin as set_slot for window 0: the client has them now.
  player.inventory.on('updateSlot', (slot, oldItem, newItem) => {
    menus.inventory.remote[slot] = menus.tools.copy(newItem)
    const current = menus.current
    if (current && slot >= 9 && slot < 45 && !menus.pendingSync) {
      menus.pendingSync = true
      setImmediate(() => { menus.pendingSync = false; if (menus.current) menus.current.broadcastChanges() })
    }
  })
  player.on('disconnected', () => {
    // before flying-squid saves the player: grid and cursor items go back
    // into the inventory (packets to the closed client may fail; the data counts)
    try {
      menus.closeCurrent(false)
      menus.inventory.onCloseInventory()
    } catch (err) { serv.emit('error', err) }
  })
  return menus
}

/** Closing the inventory screen returns the 2x2 grid and the cursor to the inventory. */
InventoryMenu.prototype.onCloseInventory = function () {
  for (let i = 1; i <= 4; i++) {
    const item = this.get(i)
    if (item) { this.set(i, null); this.giveToPlayer(item) }
  }
  if (this.crafting) this.crafting.afterClick(this, { slot: 1 }, true)
  if (this.carried) { const c = this.carried; this.carried = null; this.giveToPlayer(c) }
}

/**
 * Routes "use block" (right click) on a block type to `handler({block, player})`,
 * which returns true when it handled the use (then nothing is placed). Wraps
 * serv.interactWithBlock instead of using serv.onBlockInteraction, because the
 * latter cannot replace flying-squid's own chest handler without a warning.
 * Callable from a plugin's server hook: the wrap happens once, on 'asap', after
 * flying-squid's placeBlock plugin has defined interactWithBlock.
 */
function onBlockUse (serv, blockName, handler) {
  if (!serv._lifelongBlockUse) {
    const handlers = serv._lifelongBlockUse = new Map()
    serv.once('asap', () => {
      const original = serv.interactWithBlock
      serv.interactWithBlock = async (data) => {
        const own = handlers.get(data.block.type)
        if (own) {
          // sneaking with an item in hand places it instead (vanilla)
          const held = data.player.inventory.slots[36 + data.player.heldItemSlot]
          if (data.player.crouching && held) return false
          return own(data)
        }
        return original(data)
      }
    })
  }
  serv._lifelongBlockUse.set(serv.registry.blocksByName[blockName].id, handler)
}

/** Protocol id of a window type name for the server's version. */
function windowProtocolType (registry, typeName) {
  const windows = require('prismarine-windows')(registry).windows
  const entry = windows[typeName]
  if (!entry) throw new Error(`window type ${typeName} is not known for ${registry.version.minecraftVersion}`)
  return entry.type
}

module.exports = { Menu, InventoryMenu, attachMenus, onBlockUse, windowProtocolType, itemTools, armorSlotOf, PICKUP, QUICK_MOVE, SWAP, CLONE, THROW, QUICK_CRAFT, PICKUP_ALL }
