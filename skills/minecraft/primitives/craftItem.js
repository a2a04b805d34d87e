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
            await bot.pathfinder.goto(new GoalLookAtBlock(craftingTable.position, bot.world));
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
        await bot.craft(recipe, count, craftingTable);
        bot.chat(`I did the recipe for ${name} ${count} times`);
    } catch (err) {
        bot.chat(`cannot craft ${name}: ${err.message}`);
        _craftItemFailCount++;
        if (_craftItemFailCount > 10) {
            throw new Error("craftItem failed too many times, check chat log to see what happened");
        }
    }
}
