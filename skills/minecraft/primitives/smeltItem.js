// smeltItem(bot, itemName, fuelName, count = 1): smelt `count` items in a furnace within
// 32 blocks, adding fuel as needed, and take the output into the inventory.
let _smeltItemFailCount = 0;

async function smeltItem(bot, itemName, fuelName, count = 1) {
    const item = _itemByName(itemName, "smeltItem");
    const fuel = _itemByName(fuelName, "smeltItem");
    _checkCount(count, "smeltItem");
    const fail = (message) => {
        bot.chat(message);
        _smeltItemFailCount++;
        if (_smeltItemFailCount > 10) {
            throw new Error("smeltItem failed too many times, check chat log to see what happened");
        }
    };
    const furnaceBlock = bot.findBlock({ matching: mcData.blocksByName.furnace.id, maxDistance: 32 });
    if (!furnaceBlock) {
        fail(`cannot smelt ${itemName}: no furnace within 32 blocks; craft one and place it with placeItem(bot, "furnace", position)`);
        return;
    }
    const have = _countInInventory(bot, itemName);
    if (have < count) {
        fail(`cannot smelt ${itemName}: need ${count - have} more ${itemName}`);
        return;
    }
    if (_countInInventory(bot, fuelName) === 0) {
        fail(`cannot smelt ${itemName}: need 1 more ${fuelName} as fuel`);
        return;
    }
    try {
        await _goto(bot, new GoalLookAtBlock(furnaceBlock.position, bot.world));
    } catch (err) {
        fail(`cannot smelt ${itemName}: cannot reach the furnace at ${furnaceBlock.position}: ${err.message}`);
        return;
    }
    const furnace = await bot.openFurnace(furnaceBlock);
    let done = 0;
    try {
        for (let i = 0; i < count; i++) {
            if (!furnace.fuelItem() && furnace.fuel <= 0) {
                if (_countInInventory(bot, fuelName) === 0) {
                    bot.chat(`cannot smelt more ${itemName}: need 1 more ${fuelName} as fuel`);
                    break;
                }
                await furnace.putFuel(fuel.id, null, 1);
            }
            await furnace.putInput(item.id, null, 1);
            const before = furnace.outputItem() ? furnace.outputItem().count : 0;
            const deadline = Date.now() + 15000; // a vanilla smelt takes 10 s
            while (Date.now() < deadline && (furnace.outputItem() ? furnace.outputItem().count : 0) <= before) {
                await bot.waitForTicks(10);
            }
            if ((furnace.outputItem() ? furnace.outputItem().count : 0) <= before) {
                bot.chat(`cannot smelt ${itemName}: the furnace made nothing in 15 s (is ${itemName} smeltable and ${fuelName} a fuel?)`);
                break;
            }
            await furnace.takeOutput();
            done++;
        }
    } finally {
        if (furnace.inputItem()) await furnace.takeInput().catch(() => {});
        furnace.close();
    }
    if (done > 0) bot.chat(`Smelted ${done} ${itemName}.`);
    else _smeltItemFailCount++;
}
