'use strict'
// Drops and tool rules of bridges/server/loot.js against minecraft-data 1.21.1.
const test = require('node:test')
const assert = require('node:assert/strict')
const registry = require('prismarine-registry')('1.21.1')
const Item = require('prismarine-item')(registry)
const { dropsFor, canHarvest, isBreakable, minDigTime } = require('../server/loot')

const held = name => name ? new Item(registry.itemsByName[name].id, 1) : null
const names = drops => drops.map(d => `${d.name}x${d.count}`).sort()
const seq = (...values) => { let i = 0; return () => values[i++ % values.length] }

test('stone gives cobblestone only to a pickaxe', () => {
  assert.deepEqual(dropsFor(registry, 'stone', null), [])
  assert.deepEqual(dropsFor(registry, 'stone', held('wooden_shovel')), [])
  assert.deepEqual(names(dropsFor(registry, 'stone', held('wooden_pickaxe'))), ['cobblestonex1'])
  assert.deepEqual(names(dropsFor(registry, 'deepslate', held('stone_pickaxe'))), ['cobbled_deepslatex1'])
})

test('iron ore gives raw iron to a stone pickaxe or better, never to wood', () => {
  assert.deepEqual(dropsFor(registry, 'iron_ore', held('wooden_pickaxe')), [])
  for (const tool of ['stone_pickaxe', 'iron_pickaxe', 'diamond_pickaxe', 'netherite_pickaxe']) {
    assert.deepEqual(names(dropsFor(registry, 'iron_ore', held(tool))), ['raw_ironx1'], tool)
  }
  assert.deepEqual(names(dropsFor(registry, 'deepslate_iron_ore', held('stone_pickaxe'))), ['raw_ironx1'])
  assert.deepEqual(dropsFor(registry, 'diamond_ore', held('stone_pickaxe')), [])
  assert.deepEqual(names(dropsFor(registry, 'diamond_ore', held('iron_pickaxe'))), ['diamondx1'])
})

test('ores drop vanilla counts without fortune', () => {
  assert.deepEqual(names(dropsFor(registry, 'coal_ore', held('wooden_pickaxe'))), ['coalx1'])
  for (let i = 0; i < 30; i++) {
    const [lapis] = dropsFor(registry, 'lapis_ore', held('stone_pickaxe'))
    assert.ok(lapis.name === 'lapis_lazuli' && lapis.count >= 4 && lapis.count <= 9)
    const [red] = dropsFor(registry, 'redstone_ore', held('iron_pickaxe'))
    assert.ok(red.name === 'redstone' && red.count >= 4 && red.count <= 5)
    const [cu] = dropsFor(registry, 'copper_ore', held('stone_pickaxe'))
    assert.ok(cu.name === 'raw_copper' && cu.count >= 2 && cu.count <= 5)
  }
})

test('logs, planks, dirt and grass need no tool', () => {
  assert.deepEqual(names(dropsFor(registry, 'oak_log', null)), ['oak_logx1'])
  assert.deepEqual(names(dropsFor(registry, 'grass_block', null)), ['dirtx1'])
  assert.deepEqual(names(dropsFor(registry, 'crafting_table', null)), ['crafting_tablex1'])
  assert.deepEqual(dropsFor(registry, 'glass', null), [], 'glass needs silk touch')
})

test('leaves sometimes drop saplings, sticks and apples by vanilla chances', () => {
  assert.deepEqual(dropsFor(registry, 'oak_leaves', null, seq(0.99)), [])
  assert.deepEqual(names(dropsFor(registry, 'oak_leaves', null, seq(0.01, 0.01, 0.99, 0.001))), ['applex1', 'oak_saplingx1', 'stickx2'])
  assert.deepEqual(names(dropsFor(registry, 'birch_leaves', null, seq(0.01))), ['birch_saplingx1', 'stickx1'])
  assert.deepEqual(names(dropsFor(registry, 'oak_leaves', held('shears'))), ['oak_leavesx1'])
  let saplings = 0
  for (let i = 0; i < 4000; i++) saplings += dropsFor(registry, 'spruce_leaves', null).filter(d => d.name === 'spruce_sapling').length
  assert.ok(saplings > 120 && saplings < 300, `~5% saplings, got ${saplings}/4000`)
})

test('gravel gives flint 10% of the time', () => {
  assert.deepEqual(names(dropsFor(registry, 'gravel', null, seq(0.05))), ['flintx1'])
  assert.deepEqual(names(dropsFor(registry, 'gravel', null, seq(0.5))), ['gravelx1'])
})

test('bedrock and fluids cannot be broken', () => {
  assert.equal(isBreakable(registry.blocksByName.bedrock), false)
  assert.equal(isBreakable(registry.blocksByName.water), false)
  assert.equal(isBreakable(registry.blocksByName.stone), true)
  assert.deepEqual(dropsFor(registry, 'bedrock', held('diamond_pickaxe')), [])
})

test('harvest rules and dig time follow the held tool', () => {
  const Block = require('prismarine-block')(registry)
  const stone = Block.fromStateId(registry.blocksByName.stone.defaultState, 0)
  assert.equal(canHarvest(stone, null), false)
  assert.equal(canHarvest(stone, held('wooden_pickaxe').type), true)
  const hand = minDigTime(stone, null)
  const wood = minDigTime(stone, held('wooden_pickaxe'))
  const iron = minDigTime(stone, held('iron_pickaxe'))
  assert.ok(hand > 5000 && wood < 1500 && iron < wood, `${hand} ${wood} ${iron}`)
  const log = Block.fromStateId(registry.blocksByName.oak_log.defaultState, 0)
  assert.ok(minDigTime(log, held('wooden_axe')) < minDigTime(log, null))
})
