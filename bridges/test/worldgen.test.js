'use strict'
// World generator: deterministic per seed, layered, with trees, ores and a playable spawn.
const test = require('node:test')
const assert = require('node:assert/strict')
const registry = require('prismarine-registry')('1.21.1')
const generation = require('../server/worldgen')
const { createTerrain, SEA_LEVEL, BEDROCK_Y } = generation

const SEEDS = [1, 42, 1337, 987654321, -5]

function census (gen, cx0, cz0, radius) {
  const counts = {}
  const p = { x: 0, y: 0, z: 0 }
  for (let cx = cx0 - radius; cx <= cx0 + radius; cx++) {
    for (let cz = cz0 - radius; cz <= cz0 + radius; cz++) {
      const chunk = gen(cx, cz)
      for (p.y = BEDROCK_Y; p.y < 160; p.y++) {
        for (p.x = 0; p.x < 16; p.x++) {
          for (p.z = 0; p.z < 16; p.z++) {
            const id = chunk.getBlockStateId(p)
            if (id === 0) continue
            const name = registry.blocksByStateId[id].name
            counts[name] = (counts[name] ?? 0) + 1
          }
        }
      }
    }
  }
  return counts
}

test('same seed gives identical chunks, in any generation order', () => {
  const a = generation({ seed: 42, registry })
  const b = generation({ seed: 42, registry })
  b(5, 5); b(-3, 2) // different history must not matter
  for (const [x, z] of [[0, 0], [-1, 3], [7, -8]]) {
    assert.ok(a(x, z).dump().equals(b(x, z).dump()), `chunk ${x},${z}`)
  }
  const c = generation({ seed: 43, registry })
  assert.ok(!a(0, 0).dump().equals(c(0, 0).dump()), 'another seed gives another world')
})

test('layers: bedrock floor, deepslate below 0, stone above, soil on top, water at sea level', () => {
  const gen = generation({ seed: 1337, registry })
  const chunk = gen(2, 2)
  const name = (x, y, z) => registry.blocksByStateId[chunk.getBlockStateId({ x, y, z })].name
  for (let x = 0; x < 16; x += 5) {
    assert.equal(name(x, BEDROCK_Y, 3), 'bedrock')
    assert.equal(name(x, BEDROCK_Y - 1, 3), 'air', 'nothing below the floor')
  }
  const counts = census(gen, 0, 0, 2)
  for (const block of ['bedrock', 'deepslate', 'stone', 'dirt', 'grass_block']) assert.ok(counts[block] > 0, block)
  let deepBelow = 0; let stoneBelow = 0
  for (let y = BEDROCK_Y + 4; y < -2; y++) {
    const n = name(8, y, 8)
    if (n === 'deepslate') deepBelow++
    if (n === 'stone') stoneBelow++
  }
  assert.equal(stoneBelow, 0, 'no plain stone below y=0')
  assert.ok(deepBelow > 0)
})

test('trees (oak, birch, spruce), sand, gravel and water exist across seeds', () => {
  const seen = {}
  for (const seed of SEEDS) {
    const gen = generation({ seed, registry })
    for (const [cx, cz] of [[0, 0], [20, 0], [0, -20], [-20, 20]]) {
      for (const [k, v] of Object.entries(census(gen, cx, cz, 1))) seen[k] = (seen[k] ?? 0) + v
    }
  }
  for (const block of ['oak_log', 'oak_leaves', 'birch_log', 'birch_leaves', 'spruce_log', 'spruce_leaves', 'sand', 'gravel', 'water']) {
    assert.ok(seen[block] > 0, `${block} missing`)
  }
})

test('ores at realistic depths and frequencies', () => {
  const gen = generation({ seed: 7, registry })
  const perY = {}
  const p = { x: 0, y: 0, z: 0 }
  let chunks = 0
  for (let cx = 10; cx < 16; cx++) {
    for (let cz = 10; cz < 16; cz++) {
      chunks++
      const chunk = gen(cx, cz)
      for (p.y = BEDROCK_Y; p.y < 160; p.y++) {
        for (p.x = 0; p.x < 16; p.x++) {
          for (p.z = 0; p.z < 16; p.z++) {
            const n = registry.blocksByStateId[chunk.getBlockStateId(p)].name
            if (!n.endsWith('_ore')) continue
            const ore = n.replace('deepslate_', '').replace('_ore', '');
            (perY[ore] ??= []).push(p.y)
            if (p.y < 0) assert.ok(n.startsWith('deepslate_'), `${n} at y=${p.y} should be a deepslate variant`)
          }
        }
      }
    }
  }
  for (const ore of ['coal', 'iron', 'copper', 'gold', 'redstone', 'lapis', 'diamond']) assert.ok(perY[ore]?.length > 0, `${ore} missing`)
  assert.ok(Math.max(...perY.diamond) <= 16, 'diamonds stay deep')
  assert.ok(Math.max(...perY.redstone) <= 16 && Math.max(...perY.gold) <= 34)
  const perChunk = ore => perY[ore].length / chunks
  assert.ok(perChunk('coal') > perChunk('diamond') * 5, 'coal is far more common than diamond')
  assert.ok(perChunk('iron') > 15 && perChunk('iron') < 120, `iron per chunk ${perChunk('iron')}`)
  assert.ok(perChunk('diamond') > 1 && perChunk('diamond') < 12, `diamond per chunk ${perChunk('diamond')}`)
})

test('every seed has trees, exposed stone and surface iron + coal near spawn', () => {
  for (const seed of SEEDS) {
    const gen = generation({ seed, registry })
    const t = createTerrain(seed)
    assert.ok(t.spawn.y > SEA_LEVEL, 'spawn on dry land')
    const near = nearSpawn(gen, t)
    const count = n => near.filter(x => x === n).length
    const logs = near.filter(n => n.endsWith('_log')).length
    assert.ok(logs >= 15, `seed ${seed}: ${logs} logs near spawn`)
    assert.ok(count('stone') >= 10, `seed ${seed}: exposed stone ${count('stone')}`)
    assert.ok(count('iron_ore') >= 3, `seed ${seed}: exposed iron ${count('iron_ore')}`)
    assert.ok(count('coal_ore') >= 3, `seed ${seed}: exposed coal ${count('coal_ore')}`)
  }
})

/** Names of the topmost blocks (and every log) within 24 blocks of spawn: what a bot sees there. */
function nearSpawn (gen, t) {
  const near = []
  const p = { x: 0, y: 0, z: 0 }
  const scx = Math.floor(t.spawn.x / 16); const scz = Math.floor(t.spawn.z / 16)
  for (let cx = scx - 2; cx <= scx + 2; cx++) {
    for (let cz = scz - 2; cz <= scz + 2; cz++) {
      const chunk = gen(cx, cz)
      for (p.x = 0; p.x < 16; p.x++) {
        for (p.z = 0; p.z < 16; p.z++) {
          if (Math.hypot(cx * 16 + p.x - t.spawn.x, cz * 16 + p.z - t.spawn.z) > 24) continue
          for (p.y = 159; p.y > BEDROCK_Y; p.y--) {
            const n = registry.blocksByStateId[chunk.getBlockStateId(p)].name
            if (n === 'air' || n === 'short_grass' || n.endsWith('_leaves') || n.endsWith('_log')) continue
            near.push(n)
            break
          }
          for (let y = 60; y < 110; y++) { p.y = y; const n = registry.blocksByStateId[chunk.getBlockStateId(p)].name; if (n.endsWith('_log')) near.push(n) }
        }
      }
    }
  }
  return near
}

test("world style 'natural': no outcrop and no grove at spawn; the same world as the default elsewhere", () => {
  let groveLogs = 0; let naturalLogs = 0
  for (const seed of SEEDS) {
    const grove = createTerrain(seed)
    const natural = createTerrain(seed, { worldStyle: 'natural' })
    assert.deepEqual(natural.spawn, grove.spawn, `seed ${seed}: the spawn point does not depend on the style`)
    assert.equal(natural.outcrop, null)
    assert.deepEqual(natural.outcropOres(), [])
    assert.ok(grove.outcrop && grove.outcropOres().length === 10, 'the default keeps its outcrop')
    assert.ok(grove.heightAt(grove.outcrop.x, grove.outcrop.z) > natural.heightAt(grove.outcrop.x, grove.outcrop.z),
      `seed ${seed}: the outcrop's hill is gone`)
    const gen = generation({ seed, registry, worldStyle: 'natural' })
    const near = nearSpawn(gen, natural)
    assert.equal(near.filter(n => n === 'iron_ore').length, 0, `seed ${seed}: no exposed iron ore near a natural spawn`)
    naturalLogs += near.filter(n => n.endsWith('_log')).length
    groveLogs += nearSpawn(generation({ seed, registry }), grove).filter(n => n.endsWith('_log')).length
    // Far from spawn the styles are the same world, block for block.
    const far = generation({ seed, registry })
    const [fx, fz] = [Math.floor(grove.spawn.x / 16) + 6, Math.floor(grove.spawn.z / 16) - 6]
    assert.ok(gen(fx, fz).dump().equals(far(fx, fz).dump()), `seed ${seed}: chunk ${fx},${fz} differs`)
  }
  assert.ok(naturalLogs < groveLogs * 0.8, `no grove: ${naturalLogs} logs near natural spawns vs ${groveLogs} with the grove`)
})

test('an unknown world style is an error that lists the valid ones', () => {
  assert.throws(() => createTerrain(1, { worldStyle: 'flat' }), /unknown world style "flat": valid ones are grove, natural/)
  assert.throws(() => generation({ seed: 1, registry, worldStyle: 'flat' }), /valid ones are grove, natural/)
})
