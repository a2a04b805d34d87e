// Chest helpers with Voyager's signatures. Each one walks to the chest at
// `chestPosition` (a Vec3), opens it, and reports the contents through the
// 'closeChest' event so the observation remembers what is inside.

async function moveToChest(bot, chestPosition) {
    if (!chestPosition || typeof chestPosition.x !== "number") {
        throw new Error(`chest position must be a Vec3, got ${chestPosition}`);
    }
    chestPosition = new Vec3(Math.floor(chestPosition.x), Math.floor(chestPosition.y), Math.floor(chestPosition.z));
    if (chestPosition.distanceTo(bot.entity.position) > 32) {
        bot.chat(`cannot use the chest at ${chestPosition}: it is more than 32 blocks away`);
        return null;
    }
    const block = bot.blockAt(chestPosition);
    if (!block || !["chest", "trapped_chest", "barrel"].includes(block.name)) {
        bot.chat(`cannot use the chest at ${chestPosition}: there is ${block ? block.name : "nothing"} there, not a chest`);
        return null;
    }
    try {
        await _goto(bot, new GoalLookAtBlock(chestPosition, bot.world));
    } catch (err) {
        bot.chat(`cannot reach the chest at ${chestPosition}: ${err.message}`);
        return null;
    }
    return block;
}

function _chestItems(chest) {
    return chest.containerItems().map((it) => ({ name: it.name, count: it.count }));
}

async function listItemsInChest(bot, chest) {
    return _chestItems(chest);
}

async function closeChest(bot, chest, position) {
    try {
        bot.emit("closeChest", _chestItems(chest), position);
    } finally {
        chest.close();
    }
}

async function getItemFromChest(bot, chestPosition, itemsToGet) {
    const block = await moveToChest(bot, chestPosition);
    if (!block) return;
    const chest = await bot.openContainer(block);
    try {
        for (const name in itemsToGet) {
            const item = _itemByName(name, "getItemFromChest");
            const want = itemsToGet[name];
            const inside = chest.containerItems().filter((it) => it.name === name).reduce((n, it) => n + it.count, 0);
            if (inside === 0) {
                bot.chat(`cannot get ${name} from the chest: it has none`);
                continue;
            }
            const take = Math.min(want, inside);
            await chest.withdraw(item.id, null, take);
            if (take < want) bot.chat(`took only ${take} ${name} from the chest: need ${want - take} more ${name}`);
        }
    } finally {
        await closeChest(bot, chest, block.position);
    }
}

async function depositItemIntoChest(bot, chestPosition, itemsToDeposit) {
    const block = await moveToChest(bot, chestPosition);
    if (!block) return;
    const chest = await bot.openContainer(block);
    try {
        for (const name in itemsToDeposit) {
            const item = _itemByName(name, "depositItemIntoChest");
            const want = itemsToDeposit[name];
            const have = _countInInventory(bot, name);
            if (have === 0) {
                bot.chat(`cannot deposit ${name}: there is none in the inventory`);
                continue;
            }
            const put = Math.min(want, have);
            await chest.deposit(item.id, null, put);
            if (put < want) bot.chat(`deposited only ${put} ${name}: need ${want - put} more ${name}`);
        }
    } finally {
        await closeChest(bot, chest, block.position);
    }
}

async function checkItemInsideChest(bot, chestPosition) {
    const block = await moveToChest(bot, chestPosition);
    if (!block) return;
    const chest = await bot.openContainer(block);
    const items = _chestItems(chest);
    await closeChest(bot, chest, block.position);
    const text = items.length ? items.map((it) => `${it.count} ${it.name}`).join(", ") : "nothing";
    bot.chat(`The chest at ${block.position} holds ${text}`);
    return items;
}
