// failedCraftFeedback(bot, name, item, craftingTable): say in chat why `name` cannot be
// crafted, naming exactly what is missing ("cannot craft iron_pickaxe: need 2 more iron_ingot").

function _missingFor(bot, recipe, times) {
    const missing = [];
    for (const d of recipe.delta) {
        if (d.count >= 0) continue;
        const name = mcData.items[d.id].name;
        const need = -d.count * times - _countInInventory(bot, name);
        if (need > 0) missing.push([name, need]);
    }
    return missing;
}

function failedCraftFeedback(bot, name, item, craftingTable, times = 1) {
    const all = bot.recipesAll(item.id, null, true);
    if (all.length === 0) {
        bot.chat(`cannot craft ${name}: it has no crafting recipe; mine it, smelt it or find it instead`);
        return;
    }
    const usable = bot.recipesAll(item.id, null, craftingTable || null);
    if (usable.length === 0) {
        bot.chat(
            `cannot craft ${name}: it needs a crafting table within 32 blocks; craft one and place it with placeItem(bot, "crafting_table", position)`
        );
        return;
    }
    // The recipe missing the fewest items; among equals the most basic ingredients (lowest
    // item ids: oak_planks before cherry_planks, planks before bamboo).
    let best = null;
    for (const recipe of usable) {
        const missing = _missingFor(bot, recipe, times);
        const total = missing.reduce((n, m) => n + m[1], 0);
        const basic = recipe.delta.filter((d) => d.count < 0).reduce((n, d) => n + d.id, 0);
        if (!best || total < best.total || (total === best.total && basic < best.basic)) {
            best = { missing, total, basic };
        }
    }
    if (best.total === 0) {
        bot.chat(`cannot craft ${name}: the ingredients are there but the recipe did not match`);
        return;
    }
    const parts = best.missing.map(([n, c]) => `${c} more ${n}`).join(", ");
    bot.chat(`cannot craft ${name}: need ${parts}`);
}
