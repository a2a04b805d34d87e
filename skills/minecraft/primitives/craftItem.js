// craftItem(bot, name, count = 1): run the recipe for `name` `count` times, using a
// crafting table within 32 blocks when the recipe needs one (Voyager's semantics).
let _craftItemFailCount = 0;

async function craftItem(bot, name, count = 1) {
    const item = _itemByName(name, "craftItem");
    _checkCount(count, "craftItem");
    const tableBlock = mcData.blocksByName.crafting_table;
    const craftingTable = bot.findBlock({ matching: tableBlock.id, maxDistance: 32 });
    if (craftingTable) {
        try {
            await _goto(bot, new GoalLookAtBlock(craftingTable.position, bot.world));
        } catch (err) {
            bot.chat(`cannot reach the crafting table: ${err.message}`);
        }
    }
    // A recipe that works once, and has enough ingredients for `count` runs.
    const recipe = bot
        .recipesFor(item.id, null, 1, craftingTable)
        .find((r) => _missingFor(bot, r, count).length === 0);
    if (!recipe) {
        failedCraftFeedback(bot, name, item, craftingTable, count);
        _craftItemFailCount++;
        if (_craftItemFailCount > 10) {
            throw new Error("craftItem failed too many times, check chat log to see what happened");
        }
        return;
    }
    try {
        const before = _countInInventory(bot, name);
        await bot.craft(recipe, count, craftingTable);
        const expected = recipe.result.count * count;
        let made = _countInInventory(bot, name) - before;
        if (made < expected) {
            await bot.waitForTicks(2); // the server's last slot update may still be on its way
            made = _countInInventory(bot, name) - before;
        }
        if (made < expected) bot.chat(`craftItem: made only ${made} of ${expected} ${name}`);
        else bot.chat(`I did the recipe for ${name} ${count} times`);
    } catch (err) {
        bot.chat(`cannot craft ${name}: ${err.message}`);
        _craftItemFailCount++;
        if (_craftItemFailCount > 10) {
            throw new Error("craftItem failed too many times, check chat log to see what happened");
        }
    }
}
