'use strict'
// What a broken block drops, by vanilla rules. Pure functions (no server), unit-tested.
//
// minecraft-data supplies harvest tools (stone needs a pickaxe, iron ore a stone pickaxe or
// better) and loot entries. Its dropChance/stackSizeRange values are not usable as-is: they
// mark alternatives with 0.5 and fold Fortune into ranges (iron ore says 1-2 raw iron), so the
// few blocks where chance matters (leaves, grass, gravel, ores) follow vanilla tables here.

const ORE_COUNTS = {
  copper: [2, 5], redstone: [4, 5], lapis: [4, 9], nether_gold: [2, 6]
}
const SAPLING_CHANCE = { jungle_leaves: 0.025 }
const SAPLINGS = {
  oak_leaves: 'oak_sapling',
  birch_leaves: 'birch_sapling',
  spruce_leaves: 'spruce_sapling',
  jungle_leaves: 'jungle_sapling',
  acacia_leaves: 'acacia_sapling',
  dark_oak_leaves: 'dark_oak_sapling',
  cherry_leaves: 'cherry_sapling',
  azalea_leaves: 'azalea',
  flowering_azalea_leaves: 'flowering_azalea'
}
const APPLE_LEAVES = new Set(['oak_leaves', 'dark_oak_leaves'])
const GRASSES = new Set(['short_grass', 'tall_grass', 'fern', 'large_fern'])

function randInt (rng, lo, hi) { return lo + Math.floor(rng() * (hi - lo + 1)) }

/** True when the block can be broken at all (bedrock, barriers and fluids cannot). */
function isBreakable (block) {
  return block.diggable !== false && block.hardness !== null && block.hardness >= 0 &&
    !['water', 'lava', 'air', 'cave_air', 'void_air'].includes(block.name)
}

/** True when the held item may harvest the block (no requirement, or a listed tool). */
function canHarvest (block, heldType) {
  if (!block.harvestTools) return true
  return heldType != null && Boolean(block.harvestTools[heldType])
}

/**
 * Items dropped when `blockName` is broken while holding `held` (a prismarine-item or null).
 * Returns [{ name, count }]; empty when nothing drops. `rng` returns floats in [0, 1).
 */
function dropsFor (registry, blockName, held, rng = Math.random, blockAge = undefined) {
  const block = registry.blocksByName[blockName]
  if (!block || !isBreakable(block)) return []
  if (!canHarvest(block, held ? held.type : null)) return []
  const heldName = held ? registry.items[held.type]?.name : null
  const silk = Boolean(held?.enchants?.some(e => e.name === 'silk_touch'))
  const shears = heldName === 'shears'
  const out = []
  const add = (name, count = 1) => { if (count > 0 && registry.itemsByName[name]) out.push({ name, count }) }

  if (blockName.endsWith('_leaves')) {
    if (silk || shears) { add(blockName); return out }
    if (SAPLINGS[blockName] && rng() < (SAPLING_CHANCE[blockName] ?? 0.05)) add(SAPLINGS[blockName])
    if (rng() < 0.02) add('stick', randInt(rng, 1, 2))
    if (APPLE_LEAVES.has(blockName) && rng() < 0.005) add('apple')
    return out
  }
  if (GRASSES.has(blockName)) {
    if (shears) add(blockName === 'tall_grass' ? 'short_grass' : blockName, blockName.startsWith('tall') || blockName.startsWith('large') ? 2 : 1)
    else if (rng() < 0.125) add('wheat_seeds')
    return out
  }
  if (blockName === 'gravel' && !silk) {
    add(rng() < 0.1 ? 'flint' : 'gravel')
    return out
  }

  const loot = registry.blockLoot?.[blockName]
  if (!loot || loot.lifelongPlaceholder) {
    for (const id of block.drops ?? []) {
      const item = registry.items[typeof id === 'object' ? id.drop?.id ?? id.id : id]
      if (item) add(item.name)
    }
    return out
  }
  const ore = blockName.match(/^(?:deepslate_)?(\w+?)_ore$/)
  for (const drop of loot.drops) {
    if (drop.silkTouch && !silk) continue
    if (drop.noSilkTouch && silk) continue
    if (drop.blockAge !== undefined && drop.blockAge !== blockAge) continue
    let [lo, hi] = drop.stackSizeRange ?? [1, 1]
    if (ore && !silk) [lo, hi] = ORE_COUNTS[ore[1]] ?? [1, 1]
    add(drop.item, randInt(rng, lo, hi))
  }
  return out
}

/**
 * Shortest plausible dig time in ms for the held item, the way mineflayer computes it
 * (prismarine-block digTime), assuming the most favourable conditions (on ground, dry).
 */
function minDigTime (block, held) {
  const enchants = held?.enchants ?? []
  return block.digTime(held ? held.type : null, false, false, false, enchants, {})
}

module.exports = { dropsFor, canHarvest, isBreakable, minDigTime, ORE_COUNTS }
