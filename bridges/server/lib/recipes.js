'use strict'
/**
 * Crafting recipe matcher: grid contents -> recipe result.
 *
 * Pure: it needs only minecraft-data (or a prismarine-registry, which has the
 * same `recipes`, `items` and `itemsByName` fields), never flying-squid, so the
 * whole recipe set can be unit-tested without a server.
 *
 * minecraft-data lists each vanilla recipe once per member of its ingredient
 * tags ("variants"): `crafting_table` appears 11 times, once per plank type.
 * Vanilla matches every ingredient position independently (oak + birch planks
 * make a crafting table), so shaped variants of one result that share a shape
 * are merged back into a single recipe whose cells hold sets of item ids.
 * Shapeless variants are kept apart: there, two variants can be two different
 * vanilla recipes (mossy_cobblestone from vine OR from moss_block), and merging
 * position by position would invent recipes (cobblestone + cobblestone).
 */

/**
 * Items that leave something behind when crafted with (vanilla
 * `Item.craftingRemainingItem`); minecraft-data 1.21.1 has no outShape data.
 */
const CRAFTING_REMAINDERS = Object.freeze({
  milk_bucket: 'bucket',
  water_bucket: 'bucket',
  lava_bucket: 'bucket',
  powder_snow_bucket: 'bucket',
  honey_bottle: 'glass_bottle',
  dragon_breath: 'glass_bottle'
})

/** Rows of a minecraft-data shape padded to one width (rows may be ragged). */
function normalizeShape (inShape) {
  const width = Math.max(...inShape.map(row => row.length))
  return inShape.map(row => Array.from({ length: width }, (_, x) => row[x] ?? null))
}

/** Shape key: dimensions, the mask of empty cells and the result count. */
function shapeKey (shape, count) {
  return `${shape[0].length}x${shape.length}:${shape.map(r => r.map(c => (c == null ? '.' : '#')).join('')).join('/')}:${count}`
}

/**
 * Builds the recipe book for one version.
 * @param {object} mcData minecraft-data for the version (or a prismarine-registry)
 * @returns {{recipes: object[], match: Function, remainderFor: Function}}
 */
function createRecipeBook (mcData) {
  const shapedByDims = new Map() // 'WxH' -> [recipe]
  const shapelessBySize = new Map() // n -> [recipe]
  const recipes = []

  for (const [resultId, variants] of Object.entries(mcData.recipes)) {
    const merged = new Map() // shapeKey -> recipe
    for (const variant of variants) {
      const result = { id: variant.result.id ?? Number(resultId), count: variant.result.count ?? 1 }
      if (variant.inShape) {
        const shape = normalizeShape(variant.inShape)
        const key = shapeKey(shape, result.count)
        let recipe = merged.get(key)
        if (!recipe) {
          recipe = {
            shaped: true,
            width: shape[0].length,
            height: shape.length,
            cells: shape.flat().map(c => (c == null ? null : new Set())),
            result
          }
          merged.set(key, recipe)
          recipes.push(recipe)
          const dims = `${recipe.width}x${recipe.height}`
          if (!shapedByDims.has(dims)) shapedByDims.set(dims, [])
          shapedByDims.get(dims).push(recipe)
        }
        shape.flat().forEach((c, i) => { if (c != null) recipe.cells[i].add(c) })
      } else if (variant.ingredients) {
        const recipe = { shaped: false, ingredients: variant.ingredients.map(id => new Set([id])), result }
        recipes.push(recipe)
        const n = recipe.ingredients.length
        if (!shapelessBySize.has(n)) shapelessBySize.set(n, [])
        shapelessBySize.get(n).push(recipe)
      }
    }
  }

  /**
   * Finds the recipe a crafting grid makes.
   * @param {(number|null)[]} grid item ids row by row (null = empty), length width*height
   * @param {number} width grid width (2 for the inventory, 3 for a crafting table)
   * @returns {object|null} the recipe ({result: {id, count}, ...}) or null
   */
  function match (grid, width) {
    const height = Math.ceil(grid.length / width)
    let minX = width; let minY = height; let maxX = -1; let maxY = -1
    const present = []
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const id = grid[y * width + x]
        if (id == null) continue
        present.push(id)
        minX = Math.min(minX, x); maxX = Math.max(maxX, x)
        minY = Math.min(minY, y); maxY = Math.max(maxY, y)
      }
    }
    if (present.length === 0) return null
    const w = maxX - minX + 1
    const h = maxY - minY + 1
    const box = []
    for (let y = minY; y <= maxY; y++) {
      for (let x = minX; x <= maxX; x++) box.push(grid[y * width + x] ?? null)
    }
    for (const recipe of shapedByDims.get(`${w}x${h}`) ?? []) {
      if (shapedMatches(recipe, box, false) || shapedMatches(recipe, box, true)) return recipe
    }
    for (const recipe of shapelessBySize.get(present.length) ?? []) {
      if (shapelessMatches(recipe.ingredients, present)) return recipe
    }
    return null
  }

  /** Item id of what `itemId` leaves in the grid after crafting, or null. */
  function remainderFor (itemId) {
    const name = mcData.items[itemId]?.name
    const left = name && CRAFTING_REMAINDERS[name]
    return left ? mcData.itemsByName[left].id : null
  }

  return { recipes, match, remainderFor }
}

/** Whether a bounding-box grid equals the recipe's pattern (optionally mirrored left-right). */
function shapedMatches (recipe, box, mirrored) {
  const { width, height, cells } = recipe
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const want = cells[y * width + (mirrored ? width - 1 - x : x)]
      const have = box[y * width + x]
      if (want == null ? have != null : (have == null || !want.has(have))) return false
    }
  }
  return true
}

/** Whether the items can be assigned one-to-one to the ingredients (small backtracking search). */
function shapelessMatches (ingredients, items) {
  const used = new Array(items.length).fill(false)
  const assign = (i) => {
    if (i === ingredients.length) return true
    for (let j = 0; j < items.length; j++) {
      if (used[j] || !ingredients[i].has(items[j])) continue
      used[j] = true
      if (assign(i + 1)) return true
      used[j] = false
    }
    return false
  }
  return assign(0)
}

module.exports = { createRecipeBook, CRAFTING_REMAINDERS }
