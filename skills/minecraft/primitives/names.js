// Name checks shared by the primitives: a wrong Minecraft id is a bug in the program,
// so it throws with the closest real ids, which the LLM can copy into its next attempt.

function _closeNames(name, names) {
    const want = String(name).toLowerCase().replace(/^minecraft:/, "");
    const parts = want.split(/[_\s]+/).filter(Boolean);
    const scored = [];
    for (const n of names) {
        let score = 0;
        if (n === want) score = 100;
        else if (n.includes(want) || want.includes(n)) score = 50 - Math.abs(n.length - want.length);
        else score = parts.filter((p) => p.length > 2 && n.includes(p.replace(/s$/, ""))).length * 10;
        if (score > 0) scored.push([score, n]);
    }
    scored.sort((a, b) => b[0] - a[0] || a[1].length - b[1].length);
    return scored.slice(0, 3).map((s) => s[1]);
}

function _unknownName(kind, name, names, example) {
    const close = _closeNames(name, names);
    const hint = close.length ? ` Did you mean ${close.join(", ")}?` : "";
    return new Error(
        `No ${kind} named '${name}'.${hint} Use Minecraft ids such as ${example}.`
    );
}

function _itemByName(name, caller) {
    if (typeof name !== "string") {
        throw new Error(`${caller}: the item name must be a string, got ${typeof name}`);
    }
    const item = mcData.itemsByName[name.replace(/^minecraft:/, "")];
    if (!item) {
        throw _unknownName("item", name, Object.keys(mcData.itemsByName), "oak_planks, stick, iron_ingot");
    }
    return item;
}

function _blockByName(name, caller) {
    if (typeof name !== "string") {
        throw new Error(`${caller}: the block name must be a string, got ${typeof name}`);
    }
    const block = mcData.blocksByName[name.replace(/^minecraft:/, "")];
    if (!block) {
        throw _unknownName("block", name, Object.keys(mcData.blocksByName), "oak_log, stone, iron_ore");
    }
    return block;
}

function _countInInventory(bot, name) {
    return bot.inventory
        .items()
        .filter((it) => it.name === name)
        .reduce((n, it) => n + it.count, 0);
}

function _checkCount(count, caller) {
    if (typeof count !== "number" || !Number.isFinite(count) || count < 1) {
        throw new Error(`${caller}: count must be a positive number, got ${count}`);
    }
}

// pathfinder.goto, but a goal replaced by a plugin in the background (GoalChanged) is retried:
// the primitive asked for this goal and still wants it.
async function _goto(bot, goal) {
    for (let attempt = 1; ; attempt++) {
        try {
            return await bot.pathfinder.goto(goal);
        } catch (err) {
            if (attempt >= 3 || !/GoalChanged|goal was changed/.test(`${err.name} ${err.message}`)) throw err;
        }
    }
}

