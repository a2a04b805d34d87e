'use strict'
// Survival world generator for flying-squid (loaded by absolute path as `generation.name`).
//
// Deterministic for a seed: every block is a pure function of (seed, x, y, z), so the same
// seed gives the same world whatever order chunks are generated in (trees that cross chunk
// borders are recomputed from their cell in each chunk they touch).
//
// Height range: bedrock floor at y=-16, deepslate below y=0, surface around y=56..100.
// Generating only ~120 of the 384 possible layers keeps a chunk at a few milliseconds.
// Near the spawn point every seed gets a grove of trees and a stone outcrop with exposed
// coal and iron ore, so the wooden -> stone -> iron tech tree is always playable. That is the
// default style, 'grove'. The style 'natural' (`--world-style natural`, for benchmarks beside
// Voyager's numbers) drops both: the terrain, trees and ores near spawn are whatever the noise
// gives, as in a vanilla world, and only the spawn point itself (dry, flat land) is chosen.

const { Perlin, mulberry32, hash3, rand3 } = require('./noise')

const SEA_LEVEL = 62
const BEDROCK_Y = -16
const TOP_Y = 160 // nothing is generated above this (mountains stay well below)
const LAYERS = TOP_Y - BEDROCK_Y
const TREE_CELL = 6 // one tree candidate per 6x6 cell
const OUTCROP_RADIUS = 5
const WORLD_STYLES = ['grove', 'natural'] // keep in sync with lifelong/minecraft/ablations.py

// Ores: veins per chunk, y range, vein size. Frequencies follow vanilla 1.18+ roughly, scaled
// to our shorter column. `peak` makes a triangular distribution around it.
const ORES = [
  { name: 'coal', veins: 14, min: 0, max: 140, size: [6, 14] },
  { name: 'iron', veins: 10, min: -16, max: 72, peak: 16, size: [4, 9] },
  { name: 'copper', veins: 7, min: -16, max: 96, peak: 48, size: [5, 10] },
  { name: 'gold', veins: 3, min: -16, max: 32, peak: -8, size: [4, 8] },
  { name: 'redstone', veins: 4, min: -16, max: 15, size: [4, 8] },
  { name: 'lapis', veins: 2, min: -16, max: 30, peak: 0, size: [3, 7] },
  { name: 'diamond', veins: 2, min: -16, max: 14, peak: -16, size: [2, 6] }
]

function toSeed32 (seed) {
  if (typeof seed === 'number' && Number.isFinite(seed)) return (Math.trunc(seed) % 4294967296) | 0
  let h = 0
  for (const ch of String(seed ?? 0)) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0
  return h
}

function checkWorldStyle (style) {
  if (!WORLD_STYLES.includes(style)) throw new Error(`unknown world style ${JSON.stringify(style)}: valid ones are ${WORLD_STYLES.join(', ')}`)
  return style
}

/**
 * The terrain as pure functions of (x, z): heights, surface kind, trees and the spawn point.
 * Exported so tests and plugins (spawn point, mob spawning) use the same numbers.
 * ``worldStyle`` 'natural' has no grove and no outcrop near spawn (``outcrop`` is then null).
 */
function createTerrain (seed, { worldStyle = 'grove' } = {}) {
  const s = toSeed32(seed)
  const natural = checkWorldStyle(worldStyle) === 'natural'
  const height = new Perlin(s)
  const hills = new Perlin(s ^ 0x5bd1e995)
  const forest = new Perlin(s ^ 0x1b873593)
  const climate = new Perlin(s ^ 0x2545f491)
  const caves1 = new Perlin(s ^ 0x68e31da4)
  const caves2 = new Perlin(s ^ 0x3c6ef372)

  function hillFactor (x, z) { return hills.fbm2(x / 96 + 100.5, z / 96 + 100.5, 3) }

  function baseHeight (x, z) {
    let h = 66 + 11 * height.fbm2(x / 170 + 0.5, z / 170 + 0.5, 4)
    const m = hillFactor(x, z)
    if (m > 0.12) h += (m - 0.12) * 70
    return Math.floor(h)
  }

  const spawn = findSpawn()
  const outcrop = natural ? null : findOutcrop()

  function bump (x, z) {
    if (!outcrop) return 0
    const d = Math.hypot(x - outcrop.x, z - outcrop.z)
    return d <= OUTCROP_RADIUS ? Math.round((OUTCROP_RADIUS - d) * 0.9) + 1 : 0
  }

  function heightAt (x, z) { return baseHeight(x, z) + bump(x, z) }

  function inOutcrop (x, z) { return outcrop !== null && Math.hypot(x - outcrop.x, z - outcrop.z) <= OUTCROP_RADIUS }

  /** 'water' | 'beach' | 'rock' | 'grass': what covers the column at (x, z). */
  function surfaceAt (x, z) {
    const h = heightAt(x, z)
    if (h < SEA_LEVEL) return 'water'
    if (inOutcrop(x, z)) return 'rock'
    if (h <= SEA_LEVEL + 1) return 'beach'
    const slope = Math.max(Math.abs(heightAt(x + 1, z) - h), Math.abs(heightAt(x - 1, z) - h),
      Math.abs(heightAt(x, z + 1) - h), Math.abs(heightAt(x, z - 1) - h))
    if (slope >= 3 || (hillFactor(x, z) > 0.42 && h > 78)) return 'rock'
    return 'grass'
  }

  /** Biome-ish tree kind for a region: spruce in the cold, birch in the warm, oak between. */
  function treeKindAt (x, z, r) {
    const t = climate.noise2(x / 260 + 7.5, z / 260 + 7.5)
    if (t < -0.18) return 'spruce'
    if (t > 0.2) return r < 0.75 ? 'birch' : 'oak'
    return r < 0.2 ? 'birch' : 'oak'
  }

  function forestDensity (x, z) {
    const f = forest.fbm2(x / 190 + 3.5, z / 190 + 3.5, 2)
    let d = f > 0.12 ? 0.6 : f > -0.15 ? 0.16 : 0.04
    if (!natural && Math.hypot(x - spawn.x, z - spawn.z) < 26) d = Math.max(d, 0.55) // the grove
    return d
  }

  /** The tree of a cell, or null. Pure in (seed, cell), so neighbours agree on it. */
  function treeInCell (cx, cz) {
    const r = rand3(cx, cz, s ^ 0x7ee)
    const x = cx * TREE_CELL + 1 + (hash3(cx, cz, s ^ 0x11) % (TREE_CELL - 2))
    const z = cz * TREE_CELL + 1 + (hash3(cx, cz, s ^ 0x22) % (TREE_CELL - 2))
    if (r >= forestDensity(x, z)) return null
    if (x === spawn.x && z === spawn.z) return null
    if (surfaceAt(x, z) !== 'grass') return null
    const kind = treeKindAt(x, z, rand3(cx, cz, s ^ 0x33))
    const extra = hash3(cx, cz, s ^ 0x44) % 3
    const trunk = kind === 'spruce' ? 6 + extra : kind === 'birch' ? 5 + extra : 4 + extra
    return { x, z, y: heightAt(x, z) + 1, kind, trunk }
  }

  function biomeAt (x, z) {
    const kind = surfaceAt(x, z)
    if (kind === 'water') return heightAt(x, z) < SEA_LEVEL - 8 ? 'ocean' : 'river'
    if (kind === 'beach') return 'beach'
    const d = forestDensity(x, z)
    const k = treeKindAt(x, z, 0.5)
    if (k === 'spruce') return 'taiga'
    if (d >= 0.5) return k === 'birch' ? 'birch_forest' : 'forest'
    return 'plains'
  }

  function isCave (x, y, z, h) {
    if (y <= BEDROCK_Y + 3 || y > h) return false
    const a = caves1.noise3(x / 28, y / 18, z / 28)
    if (a > 0.09 || a < -0.09) return false
    const b = caves2.noise3(x / 28 + 50, y / 18, z / 28 + 50)
    return b < 0.09 && b > -0.09
  }

  /** First dry grass column on a spiral out from (0, 0). */
  function findSpawn () {
    for (let r = 0; r < 2000; r += 4) {
      const steps = Math.max(1, Math.floor(2 * Math.PI * r / 4))
      for (let i = 0; i < steps; i++) {
        const a = 2 * Math.PI * i / steps
        const x = Math.round(r * Math.cos(a)); const z = Math.round(r * Math.sin(a))
        const h = baseHeight(x, z)
        if (h < SEA_LEVEL + 2 || h > 85) continue
        const flat = [[1, 0], [-1, 0], [0, 1], [0, -1]].every(([dx, dz]) => Math.abs(baseHeight(x + dx, z + dz) - h) <= 1)
        if (flat) return { x, y: h + 1, z }
      }
    }
    return { x: 0, y: baseHeight(0, 0) + 1, z: 0 }
  }

  /** A dry spot 12-16 blocks from spawn for the guaranteed stone/coal/iron outcrop. */
  function findOutcrop () {
    const rnd = mulberry32(s ^ 0x0c0ffee)
    const a0 = rnd() * 2 * Math.PI
    for (let i = 0; i < 16; i++) {
      const a = a0 + i * Math.PI / 8
      const d = 12 + (i % 3) * 2
      const x = Math.round(spawn.x + d * Math.cos(a)); const z = Math.round(spawn.z + d * Math.sin(a))
      let dry = true
      for (let dx = -OUTCROP_RADIUS; dx <= OUTCROP_RADIUS && dry; dx++) {
        for (let dz = -OUTCROP_RADIUS; dz <= OUTCROP_RADIUS; dz++) {
          if (baseHeight(x + dx, z + dz) < SEA_LEVEL + 1) { dry = false; break }
        }
      }
      if (dry) return { x, z }
    }
    return { x: spawn.x + 12, z: spawn.z }
  }

  /** Exposed ores on top of the outcrop: [x, z, ore] triples, fixed per seed. */
  function outcropOres () {
    if (!outcrop) return []
    const rnd = mulberry32(s ^ 0xbadc0de)
    const spots = []
    for (let dx = -3; dx <= 3; dx++) {
      for (let dz = -3; dz <= 3; dz++) {
        if ((dx !== 0 || dz !== 0) && Math.hypot(dx, dz) <= 3.2) spots.push([outcrop.x + dx, outcrop.z + dz])
      }
    }
    for (let i = spots.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1)); const t = spots[i]; spots[i] = spots[j]; spots[j] = t
    }
    return spots.slice(0, 10).map(([x, z], i) => [x, z, i < 5 ? 'iron' : 'coal'])
  }

  return {
    seed: s, worldStyle, spawn, outcrop, heightAt, surfaceAt, treeInCell, biomeAt, isCave, outcropOres, forestDensity
  }
}

/** flying-squid generator entry point: returns (chunkX, chunkZ) -> prismarine-chunk column. */
function generation ({ seed, registry, version = '1.21.1', worldStyle = 'grove' } = {}) {
  registry ??= require('prismarine-registry')(version)
  const Chunk = require('prismarine-chunk')(registry)
  const Block = require('prismarine-block')(registry)
  const terrain = createTerrain(seed, { worldStyle })
  const s = terrain.seed

  const st = (name, props) => props ? Block.fromProperties(name, props, 0).stateId : registry.blocksByName[name].defaultState
  const B = {
    air: 0,
    bedrock: st('bedrock'),
    stone: st('stone'),
    deepslate: st('deepslate'),
    dirt: st('dirt'),
    grass: st('grass_block', { snowy: false }),
    sand: st('sand'),
    gravel: st('gravel'),
    water: st('water'),
    shortGrass: st('short_grass')
  }
  for (const kind of ['oak', 'birch', 'spruce']) {
    B[kind + 'Log'] = st(kind + '_log', { axis: 'y' })
    B[kind + 'Leaves'] = st(kind + '_leaves', { distance: 1, persistent: true, waterlogged: false })
  }
  const oreStates = {}
  for (const ore of ORES) {
    oreStates[ore.name] = { stone: st(ore.name + '_ore'), deepslate: st('deepslate_' + ore.name + '_ore') }
  }
  const biomeIds = {}
  for (const name of ['plains', 'forest', 'birch_forest', 'taiga', 'beach', 'river', 'ocean']) biomeIds[name] = registry.biomesByName[name].id

  return function generateChunk (chunkX, chunkZ) {
    const x0 = chunkX * 16; const z0 = chunkZ * 16
    const col = new Int32Array(LAYERS * 256) // (y - BEDROCK_Y) * 256 + z * 16 + x
    const idx = (x, y, z) => (y - BEDROCK_Y) * 256 + z * 16 + x
    const heights = new Int32Array(256)
    let minH = TOP_Y; let maxH = BEDROCK_Y

    // 1. Terrain columns: bedrock, deepslate, stone, soil, water; caves carved as we go.
    for (let z = 0; z < 16; z++) {
      for (let x = 0; x < 16; x++) {
        const wx = x0 + x; const wz = z0 + z
        const h = terrain.heightAt(wx, wz)
        const surface = terrain.surfaceAt(wx, wz)
        heights[z * 16 + x] = h
        minH = Math.min(minH, h); maxH = Math.max(maxH, Math.max(h, SEA_LEVEL))
        const soil = surface === 'rock' ? 0 : 3 + (hash3(wx, wz, s) % 2)
        const deepTop = (hash3(wx, wz, s ^ 0xdee) % 8) // stone/deepslate transition at y=0..7
        const dryLand = surface === 'grass' || surface === 'rock'
        for (let y = BEDROCK_Y; y <= h; y++) {
          let b
          if (y === BEDROCK_Y || (y <= BEDROCK_Y + 3 && rand3(wx, y * 7919 + wz, s) < 0.75 - 0.22 * (y - BEDROCK_Y))) b = B.bedrock
          else if (y > h - soil) {
            if (surface === 'water') b = y === h ? (rand3(wx, wz, s ^ 0x9a) < 0.3 ? B.gravel : B.sand) : B.dirt
            else if (surface === 'beach') b = B.sand
            else b = y === h ? B.grass : B.dirt
          } else b = y < deepTop ? B.deepslate : B.stone
          // Caves: never under water (no fluid simulation), and keep a 1-block roof under soil.
          if (b !== B.bedrock && dryLand && y < h - (surface === 'rock' ? 0 : soil) && terrain.isCave(wx, y, wz, h)) b = B.air
          col[idx(x, y, z)] = b
        }
        for (let y = h + 1; y <= SEA_LEVEL; y++) col[idx(x, y, z)] = B.water
      }
    }

    // 2. Ore veins and underground gravel/dirt pockets, only replacing stone or deepslate.
    const rnd = mulberry32(hash3(chunkX, chunkZ, s ^ 0x0e5))
    const place = (x, y, z, pick) => {
      if (x < 0 || x > 15 || z < 0 || z > 15 || y <= BEDROCK_Y || y >= TOP_Y) return
      const i = idx(x, y, z); const cur = col[i]
      if (cur === B.stone || cur === B.deepslate) col[i] = pick(cur)
    }
    const vein = (size, x, y, z, pick) => {
      for (let n = 0; n < size; n++) {
        place(x, y, z, pick)
        const d = Math.floor(rnd() * 6)
        if (d === 0) x++; else if (d === 1) x--; else if (d === 2) y++; else if (d === 3) y--; else if (d === 4) z++; else z--
      }
    }
    for (const ore of ORES) {
      const states = oreStates[ore.name]
      const pick = cur => cur === B.deepslate ? states.deepslate : states.stone
      for (let v = 0; v < ore.veins; v++) {
        let y
        if (ore.peak === undefined) y = ore.min + Math.floor(rnd() * (ore.max - ore.min + 1))
        else {
          const a = rnd(); const lo = ore.min; const hi = ore.max; const c = (ore.peak - lo) / (hi - lo)
          y = Math.floor(a < c ? lo + Math.sqrt(a * (hi - lo) * (ore.peak - lo)) : hi - Math.sqrt((1 - a) * (hi - lo) * (hi - ore.peak)))
        }
        const size = ore.size[0] + Math.floor(rnd() * (ore.size[1] - ore.size[0] + 1))
        vein(size, Math.floor(rnd() * 16), y, Math.floor(rnd() * 16), pick)
      }
    }
    for (let v = 0; v < 3; v++) {
      const filler = rnd() < 0.5 ? B.gravel : B.dirt
      vein(20, Math.floor(rnd() * 16), Math.floor(rnd() * 80), Math.floor(rnd() * 16), () => filler)
    }

    // 3. The guaranteed outcrop near spawn: exposed iron and coal ore on its top (none if natural).
    for (const [wx, wz, ore] of terrain.outcropOres()) {
      const x = wx - x0; const z = wz - z0
      if (x < 0 || x > 15 || z < 0 || z > 15) continue
      col[idx(x, heights[z * 16 + x], z)] = oreStates[ore].stone
    }

    // 4. Trees (from every cell that can reach this chunk), then short grass.
    const cMin = Math.floor((x0 - 3) / TREE_CELL); const cMax = Math.floor((x0 + 18) / TREE_CELL)
    const dMin = Math.floor((z0 - 3) / TREE_CELL); const dMax = Math.floor((z0 + 18) / TREE_CELL)
    const setIn = (wx, y, wz, b, onlyAir) => {
      const x = wx - x0; const z = wz - z0
      if (x < 0 || x > 15 || z < 0 || z > 15 || y >= TOP_Y) return
      const i = idx(x, y, z)
      if (onlyAir && col[i] !== B.air) return
      col[i] = b
      maxH = Math.max(maxH, y)
    }
    for (let cx = cMin; cx <= cMax; cx++) {
      for (let cz = dMin; cz <= dMax; cz++) {
        const tree = terrain.treeInCell(cx, cz)
        if (tree) drawTree(tree, setIn, B, hash3(cx, cz, s ^ 0x55))
      }
    }
    for (let z = 0; z < 16; z++) {
      for (let x = 0; x < 16; x++) {
        const h = heights[z * 16 + x]
        if (col[idx(x, h, z)] !== B.grass || col[idx(x, h + 1, z)] !== B.air) continue
        if (rand3(x0 + x, z0 + z, s ^ 0x6a55) < 0.07) col[idx(x, h + 1, z)] = B.shortGrass
      }
    }

    return toChunk(Chunk, col, chunkX, chunkZ, minH, maxH, terrain, biomeIds)
  }
}

/** Oak/birch: straight trunk, 2 wide layers and a small crown; spruce: a cone. */
function drawTree ({ x, y, z, kind, trunk }, set, B, h) {
  const log = B[kind + 'Log']; const leaves = B[kind + 'Leaves']
  const top = y + trunk - 1
  if (kind === 'spruce') {
    const radii = [0, 1, 1, 2, 1, 2, 2]
    for (let i = 0; i < radii.length && top + 1 - i > y + 1; i++) {
      const r = radii[i]; const ly = top + 1 - i
      for (let dx = -r; dx <= r; dx++) {
        for (let dz = -r; dz <= r; dz++) {
          if (r > 0 && Math.abs(dx) === r && Math.abs(dz) === r) continue
          set(x + dx, ly, z + dz, leaves, true)
        }
      }
    }
  } else {
    for (let ly = top - 2; ly <= top + 1; ly++) {
      const r = ly >= top ? 1 : 2
      for (let dx = -r; dx <= r; dx++) {
        for (let dz = -r; dz <= r; dz++) {
          const corner = Math.abs(dx) === r && Math.abs(dz) === r
          if (corner && (r === 1 ? ly === top + 1 : ((h >>> ((dx + 2) * 5 + dz + 2)) & 1) === 0)) continue
          set(x + dx, ly, z + dz, leaves, true)
        }
      }
    }
  }
  for (let ly = y; ly <= top; ly++) set(x, ly, z, log, false)
}

/** Copy the flat block array into a prismarine chunk, with sky light above the ground. */
function toChunk (Chunk, col, chunkX, chunkZ, minH, maxH, terrain, biomeIds) {
  const chunk = new Chunk({ minY: -64, worldHeight: 384 })
  const p = { x: 0, y: 0, z: 0 }
  for (let y = BEDROCK_Y; y <= Math.min(maxH, TOP_Y - 1); y++) {
    const section = chunk.sections[(y + 64) >> 4]
    p.y = (y + 64) & 15
    const base = (y - BEDROCK_Y) * 256
    for (let i = 0; i < 256; i++) {
      const b = col[base + i]
      if (b === 0) continue
      p.x = i & 15; p.z = i >> 4
      section.set(p, b)
    }
  }
  // Sky light 15 from the lowest ground section upwards (bots ignore light; clients need it).
  const q = { x: 0, y: 0, z: 0 }
  for (let y = (Math.floor(Math.min(minH, SEA_LEVEL) / 16) * 16); y < 320; y += 16) {
    q.y = y
    chunk.setSkyLight(q, 15)
    const light = chunk.skyLightSections[Math.floor((y + 64) / 16) + 1]
    if (light) light.data.fill(0xFFFFFFFF)
  }
  // Biomes per 4x4 column, same for every height.
  for (let bx = 0; bx < 4; bx++) {
    for (let bz = 0; bz < 4; bz++) {
      const id = biomeIds[terrain.biomeAt(chunkX * 16 + bx * 4 + 2, chunkZ * 16 + bz * 4 + 2)]
      for (let y = -64; y < 320; y += 4) {
        q.x = bx * 4; q.y = y; q.z = bz * 4
        chunk.setBiome(q, id)
      }
    }
  }
  return chunk
}

module.exports = generation
module.exports.createTerrain = createTerrain
module.exports.SEA_LEVEL = SEA_LEVEL
module.exports.BEDROCK_Y = BEDROCK_Y
module.exports.ORES = ORES
module.exports.WORLD_STYLES = WORLD_STYLES
module.exports.checkWorldStyle = checkWorldStyle
