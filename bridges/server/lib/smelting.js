'use strict'
/**
 * Furnace rules: what smelts into what, how long each fuel burns, and the
 * per-tick furnace state machine. Pure (no flying-squid), so it is unit-tested
 * directly.
 *
 * minecraft-data has neither smelting recipes nor fuel values, so both tables
 * are written here from vanilla 1.21.1 (data/minecraft/recipe/*smelting*.json
 * and AbstractFurnaceBlockEntity.getFuel). Names missing from a version's
 * registry are skipped, so the tables degrade gracefully on other versions.
 */

/** Ticks to cook one item in a furnace (vanilla default for every smelting recipe). */
const COOK_TIME = 200

/**
 * The three furnace-like blocks: which outputs each accepts (by SMELTING
 * output name) and how fast it cooks. Blast furnaces and smokers cook twice as
 * fast but only ores/metal and food respectively (vanilla blasting/smoking recipes).
 */
const FOOD = ['cooked_beef', 'cooked_porkchop', 'cooked_chicken', 'cooked_mutton', 'cooked_rabbit', 'cooked_cod', 'cooked_salmon', 'baked_potato', 'dried_kelp']
const METAL = ['iron_ingot', 'gold_ingot', 'copper_ingot', 'coal', 'redstone', 'lapis_lazuli', 'diamond', 'emerald', 'quartz', 'netherite_scrap', 'iron_nugget', 'gold_nugget']
const KINDS = {
  furnace: { cookTime: COOK_TIME, accepts: () => true },
  blast_furnace: { cookTime: COOK_TIME / 2, accepts: (output) => METAL.includes(output) },
  smoker: { cookTime: COOK_TIME / 2, accepts: (output) => FOOD.includes(output) }
}

const WOODS = ['oak', 'spruce', 'birch', 'jungle', 'acacia', 'dark_oak', 'mangrove', 'cherry', 'pale_oak']
const COLORS = ['white', 'orange', 'magenta', 'light_blue', 'yellow', 'lime', 'pink', 'gray', 'light_gray',
  'cyan', 'purple', 'blue', 'brown', 'green', 'red', 'black']

/** [inputs, output, experience] for every vanilla furnace recipe. */
const SMELTING = [
  [['raw_iron', 'iron_ore', 'deepslate_iron_ore'], 'iron_ingot', 0.7],
  [['raw_gold', 'gold_ore', 'deepslate_gold_ore', 'nether_gold_ore'], 'gold_ingot', 1.0],
  [['raw_copper', 'copper_ore', 'deepslate_copper_ore'], 'copper_ingot', 0.7],
  [['coal_ore', 'deepslate_coal_ore'], 'coal', 0.1],
  [['redstone_ore', 'deepslate_redstone_ore'], 'redstone', 0.7],
  [['lapis_ore', 'deepslate_lapis_ore'], 'lapis_lazuli', 0.2],
  [['diamond_ore', 'deepslate_diamond_ore'], 'diamond', 1.0],
  [['emerald_ore', 'deepslate_emerald_ore'], 'emerald', 1.0],
  [['nether_quartz_ore'], 'quartz', 0.2],
  [['ancient_debris'], 'netherite_scrap', 2.0],
  [['beef'], 'cooked_beef', 0.35],
  [['porkchop'], 'cooked_porkchop', 0.35],
  [['chicken'], 'cooked_chicken', 0.35],
  [['mutton'], 'cooked_mutton', 0.35],
  [['rabbit'], 'cooked_rabbit', 0.35],
  [['cod'], 'cooked_cod', 0.35],
  [['salmon'], 'cooked_salmon', 0.35],
  [['potato'], 'baked_potato', 0.35],
  [['kelp'], 'dried_kelp', 0.1],
  [['sand', 'red_sand'], 'glass', 0.1],
  [['cobblestone'], 'stone', 0.1],
  [['stone'], 'smooth_stone', 0.1],
  [['cobbled_deepslate'], 'deepslate', 0.1],
  [['sandstone'], 'smooth_sandstone', 0.1],
  [['red_sandstone'], 'smooth_red_sandstone', 0.1],
  [['quartz_block'], 'smooth_quartz', 0.1],
  [['basalt'], 'smooth_basalt', 0.1],
  [['stone_bricks'], 'cracked_stone_bricks', 0.1],
  [['deepslate_bricks'], 'cracked_deepslate_bricks', 0.1],
  [['deepslate_tiles'], 'cracked_deepslate_tiles', 0.1],
  [['nether_bricks'], 'cracked_nether_bricks', 0.1],
  [['polished_blackstone_bricks'], 'cracked_polished_blackstone_bricks', 0.1],
  [['clay_ball'], 'brick', 0.3],
  [['clay'], 'terracotta', 0.35],
  [['netherrack'], 'nether_brick', 0.1],
  [['cactus'], 'green_dye', 1.0],
  [['sea_pickle'], 'lime_dye', 0.1],
  [['wet_sponge'], 'sponge', 0.15],
  [['chorus_fruit'], 'popped_chorus_fruit', 0.1],
  [WOODS.flatMap(w => [`${w}_log`, `${w}_wood`, `stripped_${w}_log`, `stripped_${w}_wood`]), 'charcoal', 0.15],
  [['iron_pickaxe', 'iron_shovel', 'iron_axe', 'iron_hoe', 'iron_sword', 'iron_helmet', 'iron_chestplate',
    'iron_leggings', 'iron_boots', 'iron_horse_armor', 'chainmail_helmet', 'chainmail_chestplate',
    'chainmail_leggings', 'chainmail_boots'], 'iron_nugget', 0.1],
  [['golden_pickaxe', 'golden_shovel', 'golden_axe', 'golden_hoe', 'golden_sword', 'golden_helmet',
    'golden_chestplate', 'golden_leggings', 'golden_boots', 'golden_horse_armor'], 'gold_nugget', 0.1],
  ...COLORS.map(c => [[`${c}_terracotta`], `${c}_glazed_terracotta`, 0.1])
]

/** Burn time in ticks per fuel item (vanilla 1.21.1). Crimson and warped wood does not burn. */
function fuelTable () {
  const fuels = {
    lava_bucket: 20000,
    coal_block: 16000,
    dried_kelp_block: 4001,
    blaze_rod: 2400,
    coal: 1600,
    charcoal: 1600,
    bamboo_block: 300,
    stripped_bamboo_block: 300,
    bamboo_planks: 300,
    bamboo_mosaic: 300,
    bamboo_stairs: 300,
    bamboo_mosaic_stairs: 300,
    bamboo_slab: 150,
    bamboo_mosaic_slab: 150,
    bamboo_fence: 300,
    bamboo_fence_gate: 300,
    bamboo_trapdoor: 300,
    bamboo_pressure_plate: 300,
    bamboo_door: 200,
    bamboo_button: 100,
    bamboo_sign: 200,
    bamboo_hanging_sign: 800,
    bamboo_raft: 1200,
    bamboo_chest_raft: 1200,
    note_block: 300,
    bookshelf: 300,
    chiseled_bookshelf: 300,
    lectern: 300,
    jukebox: 300,
    chest: 300,
    trapped_chest: 300,
    crafting_table: 300,
    daylight_detector: 300,
    bow: 300,
    crossbow: 300,
    fishing_rod: 300,
    ladder: 300,
    mangrove_roots: 300,
    barrel: 300,
    cartography_table: 300,
    fletching_table: 300,
    smithing_table: 300,
    loom: 300,
    composter: 300,
    wooden_shovel: 200,
    wooden_sword: 200,
    wooden_hoe: 200,
    wooden_axe: 200,
    wooden_pickaxe: 200,
    stick: 100,
    bowl: 100,
    dead_bush: 100,
    azalea: 100,
    flowering_azalea: 100,
    mangrove_propagule: 100,
    bamboo: 50,
    scaffolding: 50
  }
  for (const w of WOODS) {
    Object.assign(fuels, {
      [`${w}_log`]: 300,
      [`${w}_wood`]: 300,
      [`stripped_${w}_log`]: 300,
      [`stripped_${w}_wood`]: 300,
      [`${w}_planks`]: 300,
      [`${w}_stairs`]: 300,
      [`${w}_slab`]: 150,
      [`${w}_fence`]: 300,
      [`${w}_fence_gate`]: 300,
      [`${w}_trapdoor`]: 300,
      [`${w}_pressure_plate`]: 300,
      [`${w}_door`]: 200,
      [`${w}_button`]: 100,
      [`${w}_sign`]: 200,
      [`${w}_hanging_sign`]: 800,
      [`${w}_boat`]: 1200,
      [`${w}_chest_boat`]: 1200
    })
  }
  for (const w of WOODS) if (w !== 'mangrove') fuels[`${w}_sapling`] = 100 // mangrove: propagule
  for (const c of COLORS) {
    fuels[`${c}_wool`] = 100
    fuels[`${c}_carpet`] = 67
    fuels[`${c}_banner`] = 300
  }
  return fuels
}

/** What using up one fuel item leaves in the fuel slot (vanilla: the lava bucket's bucket). */
const FUEL_REMAINDERS = Object.freeze({ lava_bucket: 'bucket' })

/**
 * Builds the id-keyed smelting tables for one version and one furnace kind.
 * @param {object} mcData minecraft-data for the version (or a prismarine-registry)
 * @param {'furnace'|'blast_furnace'|'smoker'} kind which block smelts
 */
function createSmeltingBook (mcData, kind = 'furnace') {
  const rules = KINDS[kind]
  if (!rules) throw new Error(`unknown furnace kind ${kind}; known: ${Object.keys(KINDS).join(', ')}`)
  const byInput = new Map() // input id -> {id, count, experience}
  for (const [inputs, output, experience] of SMELTING) {
    const out = mcData.itemsByName[output]
    if (!out || !rules.accepts(output)) continue
    for (const input of inputs) {
      const item = mcData.itemsByName[input]
      if (item) byInput.set(item.id, { id: out.id, count: 1, experience })
    }
  }
  const burnTimes = new Map()
  for (const [name, ticks] of Object.entries(fuelTable())) {
    const item = mcData.itemsByName[name]
    if (item) burnTimes.set(item.id, ticks)
  }
  const remainders = new Map()
  for (const [name, left] of Object.entries(FUEL_REMAINDERS)) {
    if (mcData.itemsByName[name]) remainders.set(mcData.itemsByName[name].id, mcData.itemsByName[left].id)
  }
  return {
    /** {id, count, experience} smelted from item id, or null. */
    resultFor: (id) => byInput.get(id) ?? null,
    /** Burn ticks of a fuel item id (0 = not a fuel). */
    burnTime: (id) => burnTimes.get(id) ?? 0,
    /** Item id left in the fuel slot after burning `id`, or null. */
    fuelRemainder: (id) => remainders.get(id) ?? null,
    cookTime: () => rules.cookTime,
    inputs: () => [...byInput.keys()],
    fuels: () => [...burnTimes.keys()]
  }
}

/**
 * A fresh furnace: slots are plain {id, count} objects (or null) so the state
 * is JSON-serialisable and persists as is.
 */
function newFurnaceState (cookTotal = COOK_TIME) {
  return { input: null, fuel: null, output: null, litTime: 0, litDuration: 0, cookProgress: 0, cookTotal, experience: 0 }
}

/**
 * Advances a furnace by one tick, mutating `state` (vanilla
 * AbstractFurnaceBlockEntity.serverTick). Returns true when a slot changed.
 * @param {object} state see newFurnaceState
 * @param {object} book createSmeltingBook(...)
 * @param {(id: number) => number} stackSize max stack size of an item id
 */
function tickFurnace (state, book, stackSize) {
  const wasLit = state.litTime > 0
  let slotsChanged = false
  if (wasLit) state.litTime--
  const recipe = state.input ? book.resultFor(state.input.id) : null
  const canBurn = recipe !== null && fitsOutput(state.output, recipe, stackSize)
  if ((state.litTime > 0 || state.fuel) && state.input) {
    if (state.litTime <= 0 && canBurn && state.fuel) {
      const burn = book.burnTime(state.fuel.id)
      if (burn > 0) {
        state.litTime = burn
        state.litDuration = burn
        const remainder = book.fuelRemainder(state.fuel.id)
        state.fuel.count--
        if (state.fuel.count <= 0) state.fuel = remainder !== null ? { id: remainder, count: 1 } : null
        slotsChanged = true
      }
    }
    if (state.litTime > 0 && canBurn) {
      state.cookProgress++
      if (state.cookProgress >= state.cookTotal) {
        state.cookProgress = 0
        state.cookTotal = book.cookTime()
        state.output = state.output ? { ...state.output, count: state.output.count + recipe.count } : { id: recipe.id, count: recipe.count }
        state.input.count--
        if (state.input.count <= 0) state.input = null
        state.experience += recipe.experience
        slotsChanged = true
      }
    } else {
      state.cookProgress = 0
    }
  } else if (state.litTime <= 0 && state.cookProgress > 0) {
    state.cookProgress = Math.max(0, state.cookProgress - 2)
  }
  if (state.litTime < 0) state.litTime = 0
  return slotsChanged
}

function fitsOutput (output, recipe, stackSize) {
  if (!output) return true
  if (output.id !== recipe.id) return false
  return output.count + recipe.count <= stackSize(output.id)
}

/** Whether the furnace has something to do (burning, or fuel and a smeltable input). */
function furnaceActive (state, book) {
  return state.litTime > 0 || state.cookProgress > 0 || (state.fuel !== null && state.input !== null && book.resultFor(state.input.id) !== null)
}

module.exports = { createSmeltingBook, newFurnaceState, tickFurnace, furnaceActive, COOK_TIME, SMELTING, KINDS, fuelTable }
