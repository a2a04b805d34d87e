'use strict'
// Seeded gradient (Perlin) noise in 2D and 3D, plus small integer hashes.
// Hand-written because the world generator calls it ~100k times per chunk and
// every npm noise package we could use either ignores seeds or allocates per call.

/** mulberry32: tiny, fast, good-enough PRNG; deterministic for a 32-bit seed. */
function mulberry32 (seed) {
  let a = seed >>> 0
  return function next () {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Hash of integers to a uint32, so any (x, z, salt) maps to a stable random value. */
function hash3 (a, b, c) {
  let h = Math.imul(a | 0, 0x27d4eb2d) ^ Math.imul(b | 0, 0x165667b1) ^ Math.imul(c | 0, 0x9e3779b1)
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Uniform [0, 1) from integer coordinates and a salt. */
function rand3 (a, b, c) {
  return hash3(a, b, c) / 4294967296
}

const GRAD3 = [
  [1, 1, 0], [-1, 1, 0], [1, -1, 0], [-1, -1, 0],
  [1, 0, 1], [-1, 0, 1], [1, 0, -1], [-1, 0, -1],
  [0, 1, 1], [0, -1, 1], [0, 1, -1], [0, -1, -1]
]

function fade (t) { return t * t * t * (t * (t * 6 - 15) + 10) }
function lerp (a, b, t) { return a + t * (b - a) }

/** A Perlin noise source; values are roughly in [-1, 1]. */
class Perlin {
  constructor (seed) {
    const rnd = mulberry32(seed)
    const p = new Uint8Array(256)
    for (let i = 0; i < 256; i++) p[i] = i
    for (let i = 255; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1))
      const t = p[i]; p[i] = p[j]; p[j] = t
    }
    this.perm = new Uint8Array(512)
    this.gx = new Float64Array(512)
    this.gy = new Float64Array(512)
    this.gz = new Float64Array(512)
    for (let i = 0; i < 512; i++) {
      const v = p[i & 255]
      this.perm[i] = v
      const g = GRAD3[v % 12]
      this.gx[i] = g[0]; this.gy[i] = g[1]; this.gz[i] = g[2]
    }
  }

  noise2 (x, y) {
    const X = Math.floor(x); const Y = Math.floor(y)
    const xf = x - X; const yf = y - Y
    const xi = X & 255; const yi = Y & 255
    const P = this.perm
    const aa = P[P[xi] + yi]; const ab = P[P[xi] + yi + 1]
    const ba = P[P[xi + 1] + yi]; const bb = P[P[xi + 1] + yi + 1]
    const gx = this.gx; const gy = this.gy
    const n00 = gx[aa] * xf + gy[aa] * yf
    const n10 = gx[ba] * (xf - 1) + gy[ba] * yf
    const n01 = gx[ab] * xf + gy[ab] * (yf - 1)
    const n11 = gx[bb] * (xf - 1) + gy[bb] * (yf - 1)
    const u = fade(xf); const v = fade(yf)
    return lerp(lerp(n00, n10, u), lerp(n01, n11, u), v)
  }

  noise3 (x, y, z) {
    const X = Math.floor(x); const Y = Math.floor(y); const Z = Math.floor(z)
    const xf = x - X; const yf = y - Y; const zf = z - Z
    const xi = X & 255; const yi = Y & 255; const zi = Z & 255
    const P = this.perm
    const a = P[xi] + yi; const aa = P[a] + zi; const ab = P[a + 1] + zi
    const b = P[xi + 1] + yi; const ba = P[b] + zi; const bb = P[b + 1] + zi
    const g = (h, dx, dy, dz) => this.gx[h] * dx + this.gy[h] * dy + this.gz[h] * dz
    const u = fade(xf); const v = fade(yf); const w = fade(zf)
    return lerp(
      lerp(lerp(g(P[aa], xf, yf, zf), g(P[ba], xf - 1, yf, zf), u),
        lerp(g(P[ab], xf, yf - 1, zf), g(P[bb], xf - 1, yf - 1, zf), u), v),
      lerp(lerp(g(P[aa + 1], xf, yf, zf - 1), g(P[ba + 1], xf - 1, yf, zf - 1), u),
        lerp(g(P[ab + 1], xf, yf - 1, zf - 1), g(P[bb + 1], xf - 1, yf - 1, zf - 1), u), v),
      w)
  }

  /** Fractal sum of `octaves` layers of 2D noise; roughly in [-1, 1]. */
  fbm2 (x, y, octaves) {
    let sum = 0; let amp = 1; let norm = 0; let f = 1
    for (let i = 0; i < octaves; i++) {
      sum += amp * this.noise2(x * f, y * f)
      norm += amp; amp *= 0.5; f *= 2
    }
    return sum / norm
  }
}

module.exports = { Perlin, mulberry32, hash3, rand3 }
