'use strict'
/**
 * flying-squid plugin: crafting in the player's 2x2 grid (window 0, slots 1-4,
 * result 0) and in the 3x3 crafting-table window (minecraft:crafting, opened
 * by using a placed crafting_table; slots 1-9, result 0, inventory 10-45).
 *
 * Recipes come from minecraft-data through lib/recipes.js. Rules:
 * - the result slot is recomputed and sent (set_slot slot 0) after every click
 *   on the grid or result: mineflayer's bot.craft() waits for exactly that;
 * - taking the result consumes one item from every grid slot and puts the
 *   result on the cursor; a shift-click crafts repeatedly into the inventory;
 * - crafting remainders (milk bucket -> bucket) go to the inventory rather
 *   than back into the grid: mineflayer's bot.craft() assumes an emptied grid
 *   for every 1.21.1 recipe (minecraft-data has no outShape), so a bucket left
 *   in the grid would desynchronise its window model;
 * - closing the table (or the inventory screen) returns grid items to the
 *   inventory; what does not fit is dropped.
 */
const { createRecipeBook } = require('../lib/recipes')
const { Menu, attachMenus, onBlockUse, windowProtocolType, QUICK_CRAFT, PICKUP_ALL, QUICK_MOVE } = require('../lib/menus')

/** Crafting rules for a width x width grid at slots 1..width², result in slot 0. */
function createCrafter (book, width, tools) {
  const cells = width * width
  const { Item, copy, equal } = tools

  const compute = (menu) => {
    const ids = []
    for (let k = 1; k <= cells; k++) ids.push(menu.get(k)?.type ?? null)
    const recipe = book.match(ids, width)
    return recipe ? new Item(recipe.result.id, recipe.result.count) : null
  }

  return {
    /** Recomputes slot 0; sends it after any click that may have touched the grid. */
    afterClick (menu, click, announce) {
      const result = compute(menu)
      const touched = (click.slot >= 0 && click.slot <= cells) || click.mode === QUICK_CRAFT ||
        click.mode === PICKUP_ALL || (click.mode === QUICK_MOVE && menu.id !== 0)
      if (!touched && equal(result, menu.get(0))) return
      menu.set(0, result)
      if (announce) menu.sendSlot(0)
      else menu.remote[0] = undefined // a full resync follows
    },
    /** Uses up one item per grid slot after the result was taken. */
    onTake (menu, taken) {
      for (let k = 1; k <= cells; k++) {
        const item = menu.get(k)
        if (!item) continue
        menu.set(k, copy(item, item.count - 1))
        const left = book.remainderFor(item.type)
        if (left !== null) menu.giveToPlayer(new Item(left, 1))
      }
    },
    /** Shift-click on the result: one craft straight into slots [start, end), if it all fits. */
    quickCraft (menu, start, end) {
      const result = menu.get(0)
      if (!result || !menu.fits(result, start, end)) return false
      if (!menu.moveItemStackTo(0, start, end, true)) return false
      this.onTake(menu, result)
      menu.set(0, compute(menu)) // the shift-click loop crafts again while this matches
      return true
    }
  }
}

/** The crafting-table window: grid storage lives in the menu, like vanilla. */
class CraftingTableMenu extends Menu {
  constructor (player, id, crafter, position = null) {
    super(player, { id, typeName: 'minecraft:crafting', title: { translate: 'container.crafting' }, containerSize: 10 })
    this.slots = new Array(10).fill(null)
    this.crafter = crafter
    this.position = position
  }

  getContainer (i) { return this.slots[i] }
  setContainer (i, item) { this.slots[i] = item }
  isResultSlot (i) { return i === 0 }
  onTake (i, item) { this.crafter.onTake(this, item) }
  afterClick (click, announce) { this.crafter.afterClick(this, click, announce) }

  quickMoveStack (i) {
    if (i === 0) return this.crafter.quickCraft(this, 10, 46)
    if (i >= 1 && i <= 9) return this.moveItemStackTo(i, 10, 46)
    if (this.moveItemStackTo(i, 1, 10)) return true
    return i < 37 ? this.moveItemStackTo(i, 37, 46) : this.moveItemStackTo(i, 10, 37)
  }

  onClose () {
    for (let i = 1; i <= 9; i++) {
      const item = this.slots[i]
      this.slots[i] = null
      if (item) this.giveToPlayer(item)
    }
    this.slots[0] = null
  }
}

module.exports.server = function (serv) {
  const book = createRecipeBook(serv.registry)
  serv._lifelongRecipes = book
  const protocolType = windowProtocolType(serv.registry, 'minecraft:crafting')
  onBlockUse(serv, 'crafting_table', ({ player, block }) => {
    const menus = attachMenus(player, serv)
    const crafter = createCrafter(book, 3, menus.tools)
    menus.open((id) => new CraftingTableMenu(player, id, crafter, block.position), protocolType)
    return true
  })
  // a table that is broken closes the windows open on it (vanilla stillValid)
  serv._lifelongTableBroken = (world, position) => {
    for (const other of serv.players) {
      const menu = other._menus?.current
      if (other.world === world && menu instanceof CraftingTableMenu && menu.position?.equals(position)) other._menus.closeCurrent(true)
    }
  }
}

module.exports.player = function (player, serv) {
  // player.inventory exists only after every plugin's player hook has run
  player.once('asap', () => {
    const menus = attachMenus(player, serv)
    menus.inventory.crafting = createCrafter(serv._lifelongRecipes, 2, menus.tools)
  })
  player.on('dug_done', (data, cancelled) => {
    if (!cancelled && data.block?.name === 'crafting_table') serv._lifelongTableBroken?.(player.world, data.position)
  })
}

module.exports.createCrafter = createCrafter
module.exports.CraftingTableMenu = CraftingTableMenu
