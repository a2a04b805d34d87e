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
    // A path that makes no progress (rock the server will not let go of, a pillar that cannot
    // be placed) would trip the runner's stuck detector and end the program: take a detour in
    // a new sideways direction for up to 10 s instead, then head on.
    let detours = 0;
    let detourUntil = 0;
    const detour = () => {
        detours++;
        const p = bot.entity.position;
        const angle = detours * 2.4; // successive detours fan out around the circle
        const side = (v) => Math.round(v * 6);
        bot.chat(`exploreUntil: no progress at ${p.floored()}, taking a detour`);
        bot.pathfinder.setGoal(new GoalNear(
            Math.floor(p.x + direction.x * 6 + side(Math.cos(angle))),
            Math.floor(p.y + direction.y * 4),
            Math.floor(p.z + direction.z * 6 + side(Math.sin(angle))), 2));
        detourUntil = Date.now() + 10000;
    };
    setGoal();
    const unwatch = _watchStall(6, detour);
    try {
        while (Date.now() < deadline) {
            await bot.waitForTicks(20);
            const result = await callback();
            if (result) return result;
            // reached, gave up, or the detour is over: head on further
            if (!bot.pathfinder.isMoving() || (detourUntil && Date.now() > detourUntil)) {
                detourUntil = 0;
                setGoal();
            }
        }
    } finally {
        unwatch();
        bot.pathfinder.setGoal(null);
        bot.clearControlStates();
    }
    bot.chat(`exploreUntil: found nothing in ${maxTime} s`);
    return null;
}
