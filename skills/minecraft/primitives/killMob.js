// killMob(bot, mobName, timeout = 300): attack the nearest `mobName` within 32 blocks
// until it dies (or `timeout` seconds pass), then walk to where it died to pick up drops.
let _killMobFailCount = 0;

async function killMob(bot, mobName, timeout = 300) {
    if (typeof mobName !== "string") throw new Error(`killMob: mobName must be a string, got ${typeof mobName}`);
    if (!mcData.entitiesByName[mobName]) {
        throw _unknownName("mob", mobName, Object.keys(mcData.entitiesByName), "cow, pig, zombie");
    }
    const entity = bot.nearestEntity(
        (e) => e.name === mobName && e.position.distanceTo(bot.entity.position) < 32
    );
    if (!entity) {
        bot.chat(`No ${mobName} nearby, please explore first`);
        _killMobFailCount++;
        if (_killMobFailCount > 10) {
            throw new Error("killMob failed too many times, make sure you explore before calling killMob");
        }
        return;
    }
    const weapon = bot.inventory
        .items()
        .filter((it) => /_(sword|axe)$/.test(it.name))
        .sort((a, b) => (b.name.endsWith("sword") ? 1 : 0) - (a.name.endsWith("sword") ? 1 : 0))[0];
    if (weapon) await bot.equip(weapon, "hand");
    bot.pvp.attack(entity);
    // After the kill, pvp calls pathfinder.stop() and waits for path_stop before emitting
    // stoppedAttacking. stop() only sets a flag that an idle pathfinder keeps until the next
    // goal, which it would then cancel: so the walk to the drops first flushes it (setGoal(null)).
    const pvpDone = new Promise((resolve) => {
        const timer = setTimeout(resolve, 6000);
        bot.once("stoppedAttacking", () => { clearTimeout(timer); resolve(); });
    });
    const killed = await waitForMobRemoved(bot, entity, timeout);
    if (!killed) {
        _killMobFailCount++;
        return;
    }
    bot.save(`${mobName}_killed`);
    await bot.waitForTicks(1);
    bot.pathfinder.setGoal(null);
    await pvpDone;
    await _collectDrops(bot, entity.position.clone(), mobName);
}

// Drops pop out of the mob with a random sideways push and may land 2 blocks from where it
// died, beyond pickup reach of a bot that merely walks "near" the spot: walk onto each item.
// Not bot.collectBlock.collect(item): it waits for the pickup with no time limit.
async function _collectDrops(bot, where, mobName, radius = 6) {
    await bot.waitForTicks(10); // let the items land
    const skipped = new Set();
    for (let visits = 0; visits < 8; visits++) {
        const drop = bot.nearestEntity(
            (e) => e.name === "item" && !skipped.has(e.id) && e.position.distanceTo(where) <= radius
        );
        if (!drop) return;
        const at = drop.position.floored();
        try {
            await _goto(bot, new GoalNear(at.x, at.y, at.z, 0));
            await bot.waitForTicks(4);
        } catch (err) {
            bot.chat(`killed ${mobName} but could not reach its drops: ${err.message}`);
        }
        if (bot.entities[drop.id]) skipped.add(drop.id);
    }
}
