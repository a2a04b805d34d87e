// waitForMobRemoved(bot, entity, timeout = 300): resolve true once `entity` is gone
// (dead or despawned), false after `timeout` seconds; stops attacking on timeout.

function waitForMobRemoved(bot, entity, timeout = 300) {
    return new Promise((resolve) => {
        let done = false;
        const finish = (ok) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            bot.removeListener("entityGone", onGone);
            if (!ok) bot.pvp.stop();
            resolve(ok);
        };
        const onGone = (e) => {
            if (e === entity || e.id === entity.id) finish(true);
        };
        const timer = setTimeout(() => {
            bot.chat(`Failed to kill ${entity.name} within ${timeout} s`);
            finish(false);
        }, timeout * 1000);
        bot.on("entityGone", onGone);
        if (!bot.entities[entity.id]) finish(true);
    });
}
