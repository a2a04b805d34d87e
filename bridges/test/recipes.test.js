'use strict'
// Unit tests of the crafting recipe matcher over EVERY crafting recipe of 1.21.1.
const test = require('node:test')
const assert = require('node:assert/strict')
const mcData = require('minecraft-data')('1.21.1')
const { createRecipeBook } = require('../server/lib/recipes')

const book = createRecipeBook(mcData)
const id = (name) => mcData.itemsByName[name].id
const name = (itemId) => mcData.items[itemId].name

/** Every minecraft-data variant as {resultId, variant}. */
function allVariants () {
  const out = []
  for (const [resultId, variants] of Object.entries(mcData.recipes)) {
    for (const variant of variants) out.push({ resultId: Number(resultId), variant })
  }
  return out
}

/** Places a minecraft-data shape into a grid of the given width at (ox, oy), optionally mirrored. */
function shapedGrid (inShape, gridWidth, ox = 0, oy = 0, mirrored = false) {
  const grid = new Array(gridWidth * gridWidth).fill(null)
  const w = Math.max(...inShape.map(r => r.length))
  inShape.forEach((row, y) => {
    for (let x = 0; x < w; x++) {
      const item = row[x] ?? null
      const gx = ox + (mirrored ? w - 1 - x : x)
      grid[(oy + y) * gridWidth + gx] = item
    }
  })
  return grid
}

function describe (variant) {
  if (variant.inShape) return variant.inShape.map(r => r.map(c => (c == null ? '_' : name(c))).join(',')).join(' / ')
  return variant.ingredients.map(name).join(' + ')
}

test('every 1.21.1 crafting recipe variant produces its result from its own pattern', () => {
  const failures = []
  const variants = allVariants()
  assert.ok(variants.length > 1400, `expected the full recipe set, got ${variants.length}`)
  for (const { resultId, variant } of variants) {
    const expect = `${name(resultId)} x${variant.result.count}`
    const tryGrid = (grid, width, how) => {
      const recipe = book.match(grid, width)
      const got = recipe ? `${name(recipe.result.id)} x${recipe.result.count}` : 'nothing'
      if (got !== expect) failures.push(`${how}: ${describe(variant)} gave ${got}, want ${expect}`)
    }
    if (variant.inShape) {
      const h = variant.inShape.length
      const w = Math.max(...variant.inShape.map(r => r.length))
      tryGrid(shapedGrid(variant.inShape, 3), 3, 'table top-left')
      tryGrid(shapedGrid(variant.inShape, 3, 3 - w, 3 - h), 3, 'table bottom-right')
      tryGrid(shapedGrid(variant.inShape, 3, 0, 0, true), 3, 'table mirrored')
      if (w <= 2 && h <= 2) tryGrid(shapedGrid(variant.inShape, 2, 2 - w, 2 - h), 2, 'inventory')
    } else {
      const n = variant.ingredients.length
      const grid = new Array(9).fill(null)
      // scatter the ingredients from the last slot backwards, in reverse order
      variant.ingredients.slice().reverse().forEach((item, i) => { grid[8 - i] = item })
      tryGrid(grid, 3, 'table shapeless')
      if (n <= 4) {
        const small = new Array(4).fill(null)
        variant.ingredients.forEach((item, i) => { small[(i * 3) % 4] = item })
        tryGrid(small, 2, 'inventory shapeless')
      }
    }
  }
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures`)
})

test('ingredient tags: mixed plank types still make a crafting table and sticks', () => {
  const table = book.match([id('oak_planks'), id('birch_planks'), id('spruce_planks'), id('cherry_planks')], 2)
  assert.equal(name(table.result.id), 'crafting_table')
  const sticks = book.match([null, id('oak_planks'), null, id('acacia_planks')], 2)
  assert.equal(name(sticks.result.id), 'stick')
  assert.equal(sticks.result.count, 4)
})

test('a mirrored asymmetric pattern matches; a wrong or extra item does not', () => {
  const P = id('oak_planks'); const S = id('stick')
  // wooden axe: PP / PS / _S and its mirror PP / SP / S_
  assert.equal(name(book.match([P, P, null, P, S, null, null, S, null], 3).result.id), 'wooden_axe')
  assert.equal(name(book.match([P, P, null, S, P, null, S, null, null], 3).result.id), 'wooden_axe')
  // upside down is not a recipe
  assert.equal(book.match([null, S, null, P, S, null, P, P, null], 3), null)
  // an extra item breaks a shaped recipe
  assert.equal(book.match([P, P, null, P, S, null, null, S, S], 3), null)
  // shapeless recipes need exactly their ingredients
  const flint = id('flint'); const iron = id('iron_ingot')
  assert.equal(name(book.match([null, flint, iron, null], 2).result.id), 'flint_and_steel')
  assert.equal(book.match([flint, flint, iron, null], 2), null)
  // the empty grid makes nothing
  assert.equal(book.match(new Array(9).fill(null), 3), null)
})

test('shapeless variants are not merged into invented recipes', () => {
  const cobble = id('cobblestone')
  assert.equal(name(book.match([cobble, id('vine'), null, null], 2).result.id), 'mossy_cobblestone')
  assert.equal(name(book.match([id('moss_block'), cobble, null, null], 2).result.id), 'mossy_cobblestone')
  assert.equal(book.match([cobble, cobble, null, null], 2), null)
})

test('crafting remainders: buckets and bottles are given back', () => {
  assert.equal(name(book.remainderFor(id('milk_bucket'))), 'bucket')
  assert.equal(name(book.remainderFor(id('honey_bottle'))), 'glass_bottle')
  assert.equal(book.remainderFor(id('oak_planks')), null)
})
