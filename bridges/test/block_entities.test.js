'use strict'
// Unit tests of the block-entity store (lib/blockEntities.js): JSON round trip
// by item name, atomic writes, and an unreadable file kept aside, not lost.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const os = require('os')
const path = require('path')
const registry = require('prismarine-registry')('1.21.1')
const Item = require('prismarine-item')(registry)
const { BlockEntityStore, itemToRecord, recordToItem, blockKey, FILE_NAME } = require('../server/lib/blockEntities')

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lifelong-be-'))

test('records survive a save and a reload, items by name with their components', () => {
  const dir = tempDir()
  try {
    const store = new BlockEntityStore(dir)
    const pick = new Item(registry.itemsByName.iron_pickaxe.id, 1)
    pick.components = [{ type: 'damage', data: 17 }]
    const key = blockKey('overworld', { x: 1, y: 64, z: -3 })
    store.table('chest')[key] = [{ slot: 4, ...itemToRecord(pick) }, { slot: 0, ...itemToRecord(new Item(registry.itemsByName.cobblestone.id, 12)) }]
    store.saveSync()
    assert.deepEqual(fs.readdirSync(dir), [FILE_NAME], 'no temporary file left behind')
    const again = new BlockEntityStore(dir)
    const [first, second] = again.table('chest')[key]
    assert.equal(first.name, 'iron_pickaxe')
    const restored = recordToItem(Item, registry, first)
    assert.equal(restored.type, registry.itemsByName.iron_pickaxe.id)
    assert.deepEqual(restored.components, [{ type: 'damage', data: 17 }])
    assert.equal(recordToItem(Item, registry, second).count, 12)
    assert.equal(recordToItem(Item, registry, { name: 'no_such_item', count: 1 }), null)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('an unreadable file is moved aside, never overwritten', () => {
  const dir = tempDir()
  try {
    fs.writeFileSync(path.join(dir, FILE_NAME), '{"chest": {"overworld:0,0,0": [')
    const errors = []
    const write = process.stderr.write
    process.stderr.write = (msg) => { errors.push(String(msg)); return true }
    let store
    try { store = new BlockEntityStore(dir) } finally { process.stderr.write = write }
    assert.deepEqual(store.table('chest'), {})
    const aside = fs.readdirSync(dir).filter(f => f.startsWith(`${FILE_NAME}.corrupt-`))
    assert.equal(aside.length, 1)
    assert.match(fs.readFileSync(path.join(dir, aside[0]), 'utf8'), /overworld/)
    assert.match(errors.join(''), /unreadable/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('without a world folder nothing is written', () => {
  const store = new BlockEntityStore(undefined)
  store.table('chest').x = []
  store.markDirty()
  store.saveSync()
  assert.equal(store.file, null)
})
