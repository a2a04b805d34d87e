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
    const killed = await waitForMobRemoved(bot, entity, timeout);
    if (!killed) {
        _killMobFailCount++;
        return;
    }
    bot.save(`${mobName}_killed`);
    // pvp stops its own movement a few ticks after the kill; start walking after that.
    await bot.waitForTicks(5);
    const where = entity.position.floored();
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            await _goto(bot, new GoalNear(where.x, where.y, where.z, 1));
            await bot.waitForTicks(10);
            return;
        } catch (err) {
            if (attempt === 1) bot.chat(`killed ${mobName} but could not reach its drops: ${err.message}`);
        }
    }
}
