"""JavaScript helpers that test programs prepend, written once for every Minecraft test."""

# An empty spot with air above and a solid block below, next to the bot.
FREE_SPOT = """
function freeSpot(bot) {
  const p = bot.entity.position.floored();
  for (let r = 1; r <= 3; r++) {
    for (let dx = -r; dx <= r; dx++) {
      for (let dz = -r; dz <= r; dz++) {
        for (const dy of [0, 1, -1]) {
          if (dx === 0 && dz === 0) continue;  // that is where the bot stands
          const q = p.offset(dx, dy, dz);
          const here = bot.blockAt(q), above = bot.blockAt(q.offset(0, 1, 0)), below = bot.blockAt(q.offset(0, -1, 0));
          // not on top of a table/furnace/chest: clicking those opens them instead of placing
          if (here && here.name === "air" && above && above.name === "air" && below && below.boundingBox === "block" &&
              !/table|furnace|chest/.test(below.name)) return q;
        }
      }
    }
  }
  throw new Error("no free spot near the bot");
}
"""
