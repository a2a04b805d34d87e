// failedCraftFeedback(bot, name, item, craftingTable): say in chat why `name` cannot be
// crafted, naming exactly what is missing ("cannot craft iron_pickaxe: need 2 more iron_ingot").

const _COMMON_INGREDIENTS = new Set([
    "oak_log", "oak_planks", "stick", "cobblestone", "coal", "iron_ingot", "gold_ingot", "diamond",
    "copper_ingot", "string", "leather", "wheat", "sand", "glass", "redstone", "paper", "feather",
    "flint", "white_wool", "stone", "oak_slab", "furnace", "crafting_table", "chest", "lapis_lazuli",
]);

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
    // The recipe missing the fewest items; among equals the one with the commonest
    // ingredients (oak_planks over cherry_planks or bamboo, cobblestone over blackstone).
    let best = null;
    for (const recipe of usable) {
        const missing = _missingFor(bot, recipe, times);
        const total = missing.reduce((n, m) => n + m[1], 0);
        const inputs = recipe.delta.filter((d) => d.count < 0);
        const rare = inputs.filter((d) => !_COMMON_INGREDIENTS.has(mcData.items[d.id].name)).length;
        const ids = inputs.reduce((n, d) => n + d.id, 0);
        if (!best || total < best.total || (total === best.total &&
            (rare < best.rare || (rare === best.rare && ids < best.ids)))) {
            best = { missing, total, rare, ids };
        }
    }
    if (best.total === 0) {
        bot.chat(`cannot craft ${name}: the ingredients are there but the recipe did not match`);
        return;
    }
    const parts = best.missing.map(([n, c]) => `${c} more ${n}`).join(", ");
    bot.chat(`cannot craft ${name}: need ${parts}`);
}
