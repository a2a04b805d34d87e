// mineBlock(bot, name, count = 1): mine `count` blocks named `name` within 32 blocks
// and pick up what drops (mineflayer-collectblock chooses the tool and the path).
let _mineBlockFailCount = 0;

// Reaching high logs leaves the bot standing on leaves, where nothing can be placed and
// paths are odd: climb down to the ground below (digging through leaves if need be).
async function _leaveCanopy(bot) {
    const below = bot.blockAt(bot.entity.position.offset(0, -1, 0));
    if (!below || !below.name.endsWith("_leaves")) return;
    const p = bot.entity.position.floored();
    for (let y = p.y - 1; y > p.y - 24; y--) {
        const b = bot.blockAt(new Vec3(p.x, y, p.z));
        if (b && b.boundingBox === "block" && !b.name.endsWith("_leaves") && !b.name.endsWith("_log")) {
            try {
                await _goto(bot, new GoalNear(p.x, y + 1, p.z, 2));
            } catch (err) {
                // staying up is not a failure of mining
            }
            return;
        }
    }
}

// One block, but give up on it after `seconds` (a path that keeps failing, a block the
// server keeps restoring), or after 10 s of pathing on the spot (before the runner's stuck
// detector ends the program), so the other candidates get their turn.
async function _collectWithin(bot, block, seconds) {
    let timer;
    let unwatch = () => {};
    const giveUp = new Promise((_, reject) => {
        const stop = (why) => {
            bot.collectBlock.cancelTask().catch(() => {});
            bot.pathfinder.setGoal(null); // stop() would leave a flag that ends the next goto at once
            reject(new Error(`could not get to the ${block.name} at ${block.position}: ${why}`));
        };
        timer = setTimeout(() => stop(`not there within ${seconds} s`), seconds * 1000);
        unwatch = _watchStall(10, () => stop("the path made no progress for 10 s"));
    });
    try {
        await Promise.race([bot.collectBlock.collect(block, { ignoreNoPath: true }), giveUp]);
    } finally {
        clearTimeout(timer);
        unwatch();
    }
}

async function mineBlock(bot, name, count = 1) {
    const block = _blockByName(name, "mineBlock");
    _checkCount(count, "mineBlock");
    const fail = (message) => {
        bot.chat(message);
        _mineBlockFailCount++;
        if (_mineBlockFailCount > 10) {
            throw new Error(
                "mineBlock failed too many times, make sure you explore before calling mineBlock"
            );
        }
    };
    const found = bot.findBlocks({ matching: [block.id], maxDistance: 32, count: 1024 });
    if (found.length === 0) {
        fail(`No ${name} nearby, please explore first`);
        return;
    }
    if (block.harvestTools) {
        const tools = Object.keys(block.harvestTools).map((id) => mcData.items[id].name);
        const has = bot.inventory.items().some((it) => tools.includes(it.name));
        if (!has) {
            fail(`cannot mine ${name}: it drops nothing without one of ${tools.slice(0, 3).join(", ")}${tools.length > 3 ? ", ..." : ""}`);
            return;
        }
    }
    // One block at a time, nearest first, skipping blocks the pathfinder cannot reach.
    let mined = 0;
    let lastError = null;
    const skipped = new Set();
    while (mined < count && skipped.size < 8) {
        const spot = bot
            .findBlocks({ matching: block.id, maxDistance: 32, count: 16 })
            .find((p) => !skipped.has(p.toString()));
        const target = spot && bot.blockAt(spot);
        if (!target) break;
        try {
            await _collectWithin(bot, target, 45);
            // collectblock's ignoreNoPath resolves without digging when no path exists
            if (bot.blockAt(target.position)?.name === name) throw new Error(`no path to the ${name} at ${target.position}`);
            mined++;
        } catch (err) {
            lastError = err;
            skipped.add(target.position.toString());
        }
    }
    if (mined > 0) bot.save(`${name}_mined`);
    await _leaveCanopy(bot);
    if (mined < count) {
        const why = lastError ? `: ${lastError.message}` : ": no more reachable within 32 blocks";
        fail(`mineBlock mined only ${mined} of ${count} ${name}${why}`);
    }
}
