'use strict'
// Unit tests of the furnace rules (lib/smelting.js): tables and the tick state machine.
const test = require('node:test')
const assert = require('node:assert/strict')
const mcData = require('minecraft-data')('1.21.1')
const { createSmeltingBook, newFurnaceState, tickFurnace, furnaceActive, SMELTING, fuelTable, COOK_TIME } = require('../server/lib/smelting')

const book = createSmeltingBook(mcData)
const id = (name) => mcData.itemsByName[name].id
const stackSize = (itemId) => mcData.items[itemId].stackSize
const run = (state, ticks) => { for (let i = 0; i < ticks; i++) tickFurnace(state, book, stackSize) }

test('every name in the smelting and fuel tables exists in 1.21.1 (pale oak is 1.21.4+)', () => {
  const missing = []
  for (const [inputs, output] of SMELTING) {
    for (const name of [...inputs, output]) if (!mcData.itemsByName[name] && !name.includes('pale_oak')) missing.push(name)
  }
  for (const name of Object.keys(fuelTable())) if (!mcData.itemsByName[name] && !name.includes('pale_oak')) missing.push(name)
  assert.deepEqual(missing, [])
})

test('the recipes the tech tree needs', () => {
  const out = (name) => mcData.items[book.resultFor(id(name)).id].name
  assert.equal(out('raw_iron'), 'iron_ingot')
  assert.equal(out('sand'), 'glass')
  assert.equal(out('beef'), 'cooked_beef')
  assert.equal(out('cobblestone'), 'stone')
  assert.equal(out('oak_log'), 'charcoal')
  assert.equal(out('raw_gold'), 'gold_ingot')
  assert.equal(book.resultFor(id('dirt')), null)
  assert.equal(book.burnTime(id('coal')), 1600)
  assert.equal(book.burnTime(id('oak_planks')), 300)
  assert.equal(book.burnTime(id('birch_log')), 300)
  assert.equal(book.burnTime(id('stick')), 100)
  assert.equal(book.burnTime(id('lava_bucket')), 20000)
  assert.equal(book.burnTime(id('crimson_planks')), 0, 'nether wood does not burn')
  assert.equal(book.burnTime(id('cobblestone')), 0)
})

test('one coal smelts raw iron into an ingot after exactly 200 ticks, and 8 items in all', () => {
  const s = newFurnaceState()
  s.input = { id: id('raw_iron'), count: 10 }
  s.fuel = { id: id('coal'), count: 1 }
  run(s, COOK_TIME - 1)
  assert.equal(s.output, null)
  assert.equal(s.fuel, null, 'the coal was used up when burning started')
  assert.equal(s.litDuration, 1600)
  run(s, 1)
  assert.deepEqual(s.output, { id: id('iron_ingot'), count: 1 })
  assert.equal(s.input.count, 9)
  run(s, 2000)
  assert.equal(s.output.count, 8, '1600 ticks of coal = 8 items')
  assert.equal(s.input.count, 2)
  assert.equal(s.litTime, 0)
  assert.ok(s.experience > 5)
})

test('progress is lost slowly without fuel, and an unsmeltable input burns no fuel', () => {
  const s = newFurnaceState()
  s.input = { id: id('sand'), count: 1 }
  s.fuel = { id: id('stick'), count: 1 } // 100 ticks: half an item
  run(s, 100)
  assert.equal(s.cookProgress, 100)
  run(s, 10)
  assert.equal(s.cookProgress, 80, 'cooling: -2 per tick')
  assert.equal(furnaceActive(s, book), true)
  run(s, 100)
  assert.equal(s.cookProgress, 0)
  assert.equal(furnaceActive(s, book), false)

  const dirt = newFurnaceState()
  dirt.input = { id: id('dirt'), count: 1 }
  dirt.fuel = { id: id('coal'), count: 1 }
  run(dirt, 50)
  assert.equal(dirt.fuel.count, 1)
  assert.equal(dirt.litTime, 0)
})

test('a full or different output stops smelting; a lava bucket leaves a bucket', () => {
  const s = newFurnaceState()
  s.input = { id: id('cobblestone'), count: 5 }
  s.output = { id: id('glass'), count: 1 }
  s.fuel = { id: id('lava_bucket'), count: 1 }
  run(s, 300)
  assert.equal(s.input.count, 5)
  assert.deepEqual(s.fuel, { id: id('lava_bucket'), count: 1 }, 'no fuel spent while the output is blocked')
  s.output = null
  run(s, 200)
  assert.deepEqual(s.fuel, { id: id('bucket'), count: 1 })
  assert.deepEqual(s.output, { id: id('stone'), count: 1 })

  const full = newFurnaceState()
  full.input = { id: id('cobblestone'), count: 5 }
  full.output = { id: id('stone'), count: 64 }
  full.fuel = { id: id('coal'), count: 1 }
  run(full, 400)
  assert.equal(full.output.count, 64)
  assert.equal(full.fuel.count, 1)
})

test('blast furnaces take ores and metal, smokers take food, both at twice the speed', () => {
  const blast = createSmeltingBook(mcData, 'blast_furnace')
  const smoker = createSmeltingBook(mcData, 'smoker')
  assert.equal(mcData.items[blast.resultFor(id('raw_iron')).id].name, 'iron_ingot')
  assert.equal(blast.resultFor(id('beef')), null)
  assert.equal(blast.resultFor(id('sand')), null)
  assert.equal(mcData.items[smoker.resultFor(id('beef')).id].name, 'cooked_beef')
  assert.equal(smoker.resultFor(id('raw_iron')), null)
  assert.equal(smoker.burnTime(id('coal')), 1600)
  const s = newFurnaceState(smoker.cookTime())
  s.input = { id: id('potato'), count: 1 }
  s.fuel = { id: id('coal'), count: 1 }
  for (let i = 0; i < 100; i++) tickFurnace(s, smoker, stackSize)
  assert.deepEqual(s.output, { id: id('baked_potato'), count: 1 })
  assert.throws(() => createSmeltingBook(mcData, 'oven'), /unknown furnace kind oven/)
})
