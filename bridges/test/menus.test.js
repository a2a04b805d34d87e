'use strict'
// Unit tests of the server-side window engine (lib/menus.js): vanilla click
// rules and the slot synchronisation, driven by window_click packets on a
// fake player (no server, no network).
const test = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('events')
const { Vec3 } = require('vec3')
const registry = require('prismarine-registry')('1.21.1')
const Item = require('prismarine-item')(registry)
const windows = require('prismarine-windows')(registry)
const { attachMenus } = require('../server/lib/menus')
const { createCrafter, CraftingTableMenu } = require('../server/plugins/crafting')
const { createRecipeBook } = require('../server/lib/recipes')
const { FurnaceMenu } = require('../server/plugins/furnace')
const { createSmeltingBook, newFurnaceState } = require('../server/lib/smelting')

const book = createRecipeBook(registry)
const item = (name, count = 1) => new Item(registry.itemsByName[name].id, count)
const show = (it) => (it ? `${it.name}x${it.count}` : null)

/** A player as flying-squid builds it, reduced to what the menus touch. */
function fakePlayer () {
  const sent = []
  const drops = []
  const player = new EventEmitter()
  player.username = 'fake'
  player.gameMode = 0
  player.heldItemSlot = 0
  player.position = new Vec3(0, 64, 0)
  player.world = {}
  player.inventory = windows.createWindow(0, 'minecraft:inventory', 'inv', 36)
  player._client = new EventEmitter()
  player._client.write = (name, data) => sent.push({ name, ...data })
  // flying-squid's inventory plugin: every change of player.inventory is sent
  player.inventory.on('updateSlot', (slot, o, n) => player._client.write('set_slot', { windowId: 0, stateId: 0, slot, item: Item.toNotch(n) }))
  const serv = {
    registry,
    emit: (ev, err) => { if (ev === 'error') throw err },
    spawnObject: (type, world, pos, opts) => drops.push(`${registry.items[opts.itemId].name}x${opts.itemCount}`),
    _createChatComponent: (t) => ({ toNetworkFormat: () => ({ type: 'string', value: JSON.stringify(t) }) })
  }
  const menus = attachMenus(player, serv)
  menus.inventory.crafting = createCrafter(book, 2, menus.tools)
  return { player, serv, menus, sent, drops }
}

/** Sends a click as the client would, claiming `claims` ({slot: item|null}) and a cursor. */
function click (player, windowId, slot, mouseButton, mode, claims = {}, cursor = null, stateId = 1) {
  player._client.emit('window_click', {
    windowId,
    stateId,
    slot,
    mouseButton,
    mode,
    changedSlots: Object.entries(claims).map(([location, it]) => ({ location: Number(location), item: Item.toNotch(it) })),
    cursorItem: Item.toNotch(cursor)
  })
}

test('left click picks up and puts down; right click splits and places one', () => {
  const { player, menus } = fakePlayer()
  player.inventory.updateSlot(9, item('cobblestone', 10))
  click(player, 0, 9, 1, 0) // right: take half
  assert.equal(show(menus.carried), 'cobblestonex5')
  assert.equal(show(player.inventory.slots[9]), 'cobblestonex5')
  click(player, 0, 10, 1, 0) // right on empty: place one
  assert.equal(show(player.inventory.slots[10]), 'cobblestonex1')
  assert.equal(show(menus.carried), 'cobblestonex4')
  click(player, 0, 9, 0, 0) // left on same item: merge all
  assert.equal(show(player.inventory.slots[9]), 'cobblestonex9')
  assert.equal(menus.carried, null)
  player.inventory.updateSlot(11, item('dirt', 3))
  click(player, 0, 11, 0, 0) // pick up dirt
  click(player, 0, 9, 0, 0) // swap with cobblestone
  assert.equal(show(player.inventory.slots[9]), 'dirtx3')
  assert.equal(show(menus.carried), 'cobblestonex9')
})

test('armour slots take only matching armour, one at a time', () => {
  const { player, menus } = fakePlayer()
  player.inventory.updateSlot(9, item('dirt', 2))
  player.inventory.updateSlot(10, item('iron_helmet'))
  click(player, 0, 9, 0, 0)
  click(player, 0, 5, 0, 0) // dirt into the helmet slot: refused
  assert.equal(player.inventory.slots[5], null)
  assert.equal(show(menus.carried), 'dirtx2')
  click(player, 0, 9, 0, 0)
  click(player, 0, 10, 0, 1) // shift-click the helmet: it is worn
  assert.equal(show(player.inventory.slots[5]), 'iron_helmetx1')
})

test('shift-click moves main inventory to the hotbar and back; number keys swap', () => {
  const { player } = fakePlayer()
  player.inventory.updateSlot(9, item('stick', 5))
  player.inventory.updateSlot(36, item('stick', 60))
  click(player, 0, 9, 0, 1)
  assert.equal(show(player.inventory.slots[36]), 'stickx64')
  assert.equal(show(player.inventory.slots[37]), 'stickx1')
  assert.equal(player.inventory.slots[9], null)
  click(player, 0, 37, 0, 1)
  assert.equal(show(player.inventory.slots[9]), 'stickx1')
  player.inventory.updateSlot(20, item('torch', 3))
  click(player, 0, 20, 2, 2) // key 3: swap with hotbar slot 38
  assert.equal(show(player.inventory.slots[38]), 'torchx3')
  assert.equal(player.inventory.slots[20], null)
})

test('drag spreads evenly; double click gathers; throw drops', () => {
  const { player, menus, drops } = fakePlayer()
  player.inventory.updateSlot(9, item('oak_planks', 9))
  click(player, 0, 9, 0, 0)
  click(player, 0, -999, 0, 5) // start left drag
  for (const s of [10, 11, 12]) click(player, 0, s, 1, 5)
  click(player, 0, -999, 2, 5) // end
  assert.deepEqual([10, 11, 12].map(s => show(player.inventory.slots[s])), ['oak_planksx3', 'oak_planksx3', 'oak_planksx3'])
  assert.equal(menus.carried, null)
  click(player, 0, 10, 0, 0) // pick up 3
  click(player, 0, 10, 0, 6) // double click: gather the other 6
  assert.equal(show(menus.carried), 'oak_planksx9')
  click(player, 0, 13, 0, 0)
  click(player, 0, 13, 0, 4) // Q: drop one
  click(player, 0, 13, 1, 4) // ctrl-Q: drop the stack
  assert.deepEqual(drops, ['oak_planksx1', 'oak_planksx8'])
})

test('a wrong client prediction is corrected, a wrong cursor resyncs the window', () => {
  const { player, sent } = fakePlayer()
  player.inventory.updateSlot(9, item('dirt', 2))
  sent.length = 0
  // the client claims dirt landed in the helmet slot and its cursor is empty
  click(player, 0, 9, 0, 0, { 9: null }, item('dirt', 2))
  click(player, 0, 5, 0, 0, { 5: item('dirt', 2) }, null)
  const fix = sent.filter(p => p.name === 'window_items')
  assert.equal(fix.length, 1, 'the cursor differs: full window state')
  assert.equal(Item.fromNotch(fix[0].carriedItem).name, 'dirt')
  assert.equal(fix[0].items[5].itemCount, 0)
  // a correct prediction needs no correction at all
  sent.length = 0
  click(player, 0, 9, 0, 0, { 9: item('dirt', 2) }, null)
  assert.deepEqual(sent.filter(p => p.windowId === 0 && p.name === 'window_items'), [])
  // stateId -1 (mineflayer's _syncWindow) always gets the full state
  click(player, 0, -999, 2, 5, {}, null, -1)
  assert.equal(sent.filter(p => p.name === 'window_items').length, 1)
})

test('2x2 crafting: the result follows the grid, taking it consumes one of each', () => {
  const { player, menus, sent } = fakePlayer()
  player.inventory.updateSlot(36, item('oak_planks', 8))
  click(player, 0, 36, 0, 0)
  sent.length = 0
  click(player, 0, 1, 1, 0)
  assert.equal(sent.filter(p => p.name === 'set_slot' && p.slot === 0).length, 1, 'slot 0 is sent once after every grid click')
  assert.equal(show(player.inventory.slots[0]), 'oak_buttonx1', 'one plank alone is a button (vanilla)')
  click(player, 0, 3, 1, 0)
  assert.equal(show(player.inventory.slots[0]), 'stickx4')
  click(player, 0, 36, 0, 0) // put the other planks back
  sent.length = 0
  click(player, 0, 0, 0, 0) // take the sticks
  assert.equal(sent.filter(p => p.name === 'set_slot' && p.slot === 0).length, 1, 'and once after taking the result')
  assert.equal(show(menus.carried), 'stickx4')
  assert.equal(player.inventory.slots[1], null)
  assert.equal(player.inventory.slots[3], null)
  assert.equal(player.inventory.slots[0], null)
  // the result slot only takes whole results: a full cursor gets nothing
  player.inventory.updateSlot(1, item('oak_planks', 1))
  player.inventory.updateSlot(3, item('oak_planks', 1))
  click(player, 0, 20, 0, 0) // put the sticks down
  click(player, 0, 2, 0, 0) // an empty-handed click on the grid recomputes
  menus.carried = item('stick', 62)
  click(player, 0, 0, 0, 0)
  assert.equal(show(menus.carried), 'stickx62')
  assert.equal(show(player.inventory.slots[0]), 'stickx4')
})

test('crafting table: remainders go to the inventory, closing returns the grid', () => {
  const { player, menus } = fakePlayer()
  const crafter = createCrafter(book, 3, menus.tools)
  const menu = menus.open((id) => new CraftingTableMenu(player, id, crafter), 12)
  const put = (slot, name) => { menu.set(slot, item(name)) }
  // cake: 3 milk, sugar egg sugar, 3 wheat
  put(1, 'milk_bucket'); put(2, 'milk_bucket'); put(3, 'milk_bucket')
  put(4, 'sugar'); put(5, 'egg'); put(6, 'sugar')
  put(7, 'wheat'); put(8, 'wheat'); put(9, 'wheat')
  click(player, menu.id, 5, 0, 0) // pick up the egg...
  click(player, menu.id, 5, 0, 0) // ...and put it back: the result is computed
  assert.equal(show(menu.get(0)), 'cakex1')
  click(player, menu.id, 0, 0, 1) // shift-click: craft into the inventory
  const inv = player.inventory.slots.filter(Boolean).map(show).sort()
  assert.deepEqual(inv, ['bucketx3', 'cakex1'])
  for (let i = 0; i <= 9; i++) assert.equal(menu.get(i), null)
  put(1, 'diamond')
  player._client.emit('close_window', { windowId: menu.id })
  assert.ok(player.inventory.slots.some(s => s?.name === 'diamond'), 'grid item returned on close')
  assert.equal(menus.current, null)
})

test('furnace window: only fuel in the fuel slot, output is take-only and pays its experience', () => {
  const { player, menus } = fakePlayer()
  let xp = 0
  player.xp = 0
  player.setXp = (v) => { xp = v; player.xp = v }
  const furnace = { state: newFurnaceState(), book: createSmeltingBook(registry), viewers: new Set(), changed () {} }
  furnace.state.output = { id: registry.itemsByName.iron_ingot.id, count: 2 }
  furnace.state.experience = 1.4 + 0.6 // two iron ingots at 0.7 each, plus a little
  const menu = menus.open((id) => new FurnaceMenu(player, id, furnace), 14)
  player.inventory.updateSlot(9, item('dirt', 1))
  player.inventory.updateSlot(10, item('raw_iron', 4))
  click(player, menu.id, menu.containerSize + 0, 0, 0) // pick up the dirt (slot 9 = window slot 3)
  click(player, menu.id, 1, 0, 0) // not a fuel: refused
  assert.equal(menu.get(1), null)
  click(player, menu.id, 2, 0, 0) // output slot with dirt on the cursor: nothing
  assert.equal(show(menu.get(2)), 'iron_ingotx2')
  click(player, menu.id, 3, 0, 0) // put the dirt back
  click(player, menu.id, 4, 0, 1) // shift-click raw iron: goes to the input slot
  assert.equal(show(menu.get(0)), 'raw_ironx4')
  click(player, menu.id, 2, 0, 1) // shift-click the output into the inventory
  assert.equal(menu.get(2), null)
  assert.ok(player.inventory.slots.some(s => s?.name === 'iron_ingot' && s.count === 2))
  assert.equal(xp, 2, 'experience paid out once')
  assert.equal(furnace.state.experience, 0)
})
