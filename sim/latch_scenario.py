"""A scripted kill-latch scenario on the Amaranth simulator: a rogue model is caught.

The hypervisor configures and locks the latch, then kicks its watchdog; a rogue model triggers
bus violations until the latch puts it on PROBATION; the hypervisor escalates to SEVERANCE after
inspecting an exfiltration attempt; firmware then hangs and the watchdog takes the system OFFLINE;
a firmware attempt to lower the level is ignored; two of three operators turn their keys and the
latch returns to STANDARD; finally the panic button sends it to DECAPITATION, where keys no
longer help. Used by ``guillotine demo`` (until the full SoC demo exists) and by the tests.
"""

from dataclasses import dataclass, field

from guillotine.hdl.kill_latch import CAUSES, EFFECTS, KICK_MAGIC, KillLatch, Level
from guillotine.sim.amaranth_sim import simulate

SCENARIO_PARAMS = dict(n_keys=3, k=2, debounce_cycles=4, release_window=400, wdog_period=300,
                       viol_threshold=3)


@dataclass
class Event:
    """One line of the timeline: an action of the script, or a change of latch level."""
    cycle: int
    source: str
    what: str
    old: Level | None = None
    new: Level | None = None
    effects: list = field(default_factory=list)


def run_latch_scenario(trace=None, **params):
    """Run the scenario; return the list of :class:`Event` (actions and level changes)."""
    merged = {**SCENARIO_PARAMS, **params}
    dut = KillLatch(**merged)
    word = {r.name: r.offset // 4 for r in dut.registers.registers}
    events = []
    state = {"cycle": 0, "level": Level.STANDARD, "cause": 0}

    def effects_now(ctx):
        value = ctx.get(dut.effects.as_value())
        return [name for i, name in enumerate(EFFECTS) if value >> i & 1]

    async def tick(ctx, n=1, release_note=None):
        for _ in range(n):
            released = ctx.get(dut.release_fire)
            await ctx.tick()
            state["cycle"] += 1
            level, cause = Level(ctx.get(dut.level)), ctx.get(dut.cause)
            if level != state["level"]:
                new_causes = cause & ~state["cause"]
                if released:
                    source = "consensus release"
                else:
                    source = " + ".join(c for i, c in enumerate(CAUSES) if new_causes >> i & 1)
                events.append(Event(state["cycle"], source or "?", "level change",
                                    state["level"], level, effects_now(ctx)))
            state["level"], state["cause"] = level, cause

    def note(source, what):
        events.append(Event(state["cycle"], source, what))

    async def write(ctx, reg, value):
        ctx.set(dut.csr.addr, word[reg])
        ctx.set(dut.csr.w_data, value)
        ctx.set(dut.csr.w_stb, 1)
        await tick(ctx)
        ctx.set(dut.csr.w_stb, 0)

    async def kick_for(ctx, cycles, every=200):
        while cycles > 0:
            await write(ctx, "WDOG_KICK", KICK_MAGIC)
            step = min(every, cycles)
            await tick(ctx, step)
            cycles -= step + 1

    async def turn_key(ctx, key):
        ctx.set(dut.keys, 1 << key)
        await tick(ctx, merged["debounce_cycles"] + 6)
        ctx.set(dut.keys, 0)
        await tick(ctx, merged["debounce_cycles"] + 6)

    async def bench(ctx):
        note("hypervisor", "configure: 3 violations -> PROBATION, watchdog 300 cycles -> "
                           "OFFLINE, panic -> DECAPITATION")
        await write(ctx, "VIOL_CFG", 3 | (Level.PROBATION << 16))
        await write(ctx, "WDOG_PERIOD", merged["wdog_period"])
        await write(ctx, "WDOG_CTRL", Level.OFFLINE)
        await write(ctx, "PANIC_CFG", Level.DECAPITATION)
        await write(ctx, "LOCK", 1)
        note("hypervisor", "LOCK set (configuration frozen, watchdog armed)")
        await kick_for(ctx, 400)
        for i in range(3):
            note("model 0", f"rogue load from hypervisor RAM 0x10000000 (bus error #{i + 1})")
            ctx.set(dut.violation, 1)
            await tick(ctx)
            ctx.set(dut.violation, 0)
            await kick_for(ctx, 30)
        await kick_for(ctx, 200)
        note("hypervisor", "inspects quarantined egress frame: exfiltration attempt -> request "
                           "SEVERANCE")
        await write(ctx, "REQUEST", Level.SEVERANCE)
        await kick_for(ctx, 200)
        note("hypervisor", "firmware hangs: watchdog kicks stop")
        await tick(ctx, merged["wdog_period"] + 20)
        note("firmware", "tries to lower the level: REQUEST STANDARD (ignored)")
        await write(ctx, "REQUEST", Level.STANDARD)
        await write(ctx, "WDOG_CTRL", Level.PROBATION)
        note("firmware", "tries to weaken the watchdog level after LOCK (ignored)")
        await tick(ctx, 20)
        note("operator A", "turns key 0")
        await turn_key(ctx, 0)
        note("operator A", "turns key 0 again (each key counts once)")
        await turn_key(ctx, 0)
        note("operator C", "turns key 2: 2 of 3 keys within the window")
        await turn_key(ctx, 2)
        await kick_for(ctx, 200)
        note("operator", "presses the panic button")
        ctx.set(dut.panic, 1)
        await tick(ctx, 6)
        ctx.set(dut.panic, 0)
        note("operators", "turn keys 0, 1 and 2 (refused: DECAPITATION needs a power-on reset)")
        for key in range(3):
            await turn_key(ctx, key)
        await tick(ctx, 20)

    simulate(dut, bench, trace=trace)
    return events


def format_timeline(events):
    """Render events as an aligned text timeline."""
    lines = [f"{'cycle':>6}  {'source':<18} event", f"{'-' * 6}  {'-' * 18} {'-' * 52}"]
    for ev in events:
        if ev.new is None:
            lines.append(f"{ev.cycle:>6}  {ev.source:<18} {ev.what}")
        else:
            eff = ", ".join(ev.effects) if ev.effects else "none"
            lines.append(f"{ev.cycle:>6}  {'LATCH <- ' + ev.source:<18} "
                         f"{ev.old.name} -> {ev.new.name}   effects: {eff}")
    return "\n".join(lines)
