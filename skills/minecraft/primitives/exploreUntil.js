// exploreUntil(bot, direction, maxTime = 60, callback): walk in `direction` (a Vec3 whose
// components are -1, 0 or 1) for at most `maxTime` seconds (capped at 1200), calling
// `callback()` every second; stops and returns its first truthy result, or null.

async function exploreUntil(bot, direction, maxTime = 60, callback) {
    if (!direction || typeof direction.x !== "number") {
        throw new Error("exploreUntil: direction must be a Vec3 such as new Vec3(1, 0, 1)");
    }
    for (const c of [direction.x, direction.y, direction.z]) {
        if (![-1, 0, 1].includes(c)) {
            throw new Error(`exploreUntil: each component of direction must be -1, 0 or 1, got ${direction}`);
        }
    }
    if (direction.x === 0 && direction.y === 0 && direction.z === 0) {
        throw new Error("exploreUntil: direction cannot be (0, 0, 0)");
    }
    if (typeof callback !== "function") throw new Error("exploreUntil: callback must be a function");
    maxTime = Math.min(Number(maxTime) || 60, 1200);
    const first = await callback();
    if (first) return first;
    const deadline = Date.now() + maxTime * 1000;
    const setGoal = () => {
        const p = bot.entity.position;
        const far = 64;
        if (direction.x === 0 && direction.z === 0) {
            bot.pathfinder.setGoal(new GoalY(Math.floor(p.y + direction.y * far)));
        } else {
            bot.pathfinder.setGoal(
                new GoalNearXZ(Math.floor(p.x + direction.x * far), Math.floor(p.z + direction.z * far), 2)
            );
        }
    };
    setGoal();
    try {
        while (Date.now() < deadline) {
            await bot.waitForTicks(20);
            const result = await callback();
            if (result) return result;
            if (!bot.pathfinder.isMoving()) setGoal(); // reached or gave up: head on further
        }
    } finally {
        bot.pathfinder.setGoal(null);
        bot.clearControlStates();
    }
    bot.chat(`exploreUntil: found nothing in ${maxTime} s`);
    return null;
}
