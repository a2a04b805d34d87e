// placeItem(bot, name, position): place the block item `name` at `position` (a Vec3),
// standing next to it first; the new block needs a solid neighbour to attach to.
let _placeItemFailCount = 0;

async function placeItem(bot, name, position) {
    const item = _itemByName(name, "placeItem");
    if (!position || typeof position.x !== "number") {
        throw new Error(`placeItem: position must be a Vec3, e.g. bot.entity.position.offset(1, 0, 0), got ${position}`);
    }
    position = new Vec3(Math.floor(position.x), Math.floor(position.y), Math.floor(position.z));
    const fail = (message) => {
        bot.chat(message);
        _placeItemFailCount++;
        if (_placeItemFailCount > 10) {
            throw new Error("placeItem failed too many times, check chat log to see what happened");
        }
    };
    const held = bot.inventory.findInventoryItem(item.id);
    if (!held) {
        fail(`cannot place ${name}: there is no ${name} in the inventory`);
        return;
    }
    const target = bot.blockAt(position);
    if (target && !["air", "cave_air", "water", "lava", "short_grass", "tall_grass", "snow"].includes(target.name)) {
        fail(`cannot place ${name} at ${position}: the spot is taken by ${target.name}; pick an empty spot`);
        return;
    }
    const faces = [
        new Vec3(0, -1, 0), new Vec3(0, 1, 0), new Vec3(1, 0, 0),
        new Vec3(-1, 0, 0), new Vec3(0, 0, 1), new Vec3(0, 0, -1),
    ];
    // Place against a plain block: using a table, furnace or chest opens it instead.
    const interactive = /(crafting_table|furnace|smoker|chest|barrel|door|button|lever|_bed|anvil|table|hopper|dispenser|dropper|shulker_box)/;
    let reference = null;
    let face = null;
    for (const f of faces) {
        const b = bot.blockAt(position.plus(f));
        if (!b || b.boundingBox !== "block" || ["water", "lava"].includes(b.name)) continue;
        if (!reference || (interactive.test(reference.name) && !interactive.test(b.name))) {
            reference = b;
            face = f.scaled(-1);
        }
    }
    if (!reference) {
        fail(`cannot place ${name} at ${position}: no solid block next to it to place against`);
        return;
    }
    try {
        await _goto(bot, new GoalPlaceBlock(position, bot.world, { range: 4 }));
        await bot.equip(held, "hand");
        const sneak = interactive.test(reference.name);
        if (sneak) {
            bot.setControlState("sneak", true);
            await bot.waitForTicks(2);
        }
        try {
            await bot.placeBlock(reference, face);
        } finally {
            if (sneak) bot.setControlState("sneak", false);
        }
        bot.save(`${name}_placed`);
    } catch (err) {
        const now = bot.blockAt(position);
        if (now && now.name === name) return; // placed, the server was just slow to confirm
        fail(`cannot place ${name} at ${position}: ${err.message}`);
    }
}
