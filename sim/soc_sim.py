"""Run a :class:`~guillotine.hdl.soc.GuillotineSoC` on the Amaranth simulator and watch it.

    run = run_soc(soc, max_cycles=20_000, until=lambda r: "M0=" in r.console)
    run.console, run.cycles, run.level_changes

The console is captured from the console UART's accepted bytes (what the line will carry);
``level_changes`` is the kill latch timeline ``[(cycle, old, new)]``. ``probes`` is a dict of
``name -> signal`` sampled at the end (e.g. a model tile's ``cause``).
"""

from dataclasses import dataclass, field

from guillotine.hdl.kill_latch import CAUSES, Level
from guillotine.sim.amaranth_sim import simulate


@dataclass
class SocRun:
    """What a simulated run of the SoC showed."""
    console: str = ""
    console_lines: list = field(default_factory=list)   # [(cycle the line ended, text)]
    cycles: int = 0
    level_changes: list = field(default_factory=list)   # [(cycle, old, new, sources)]
    level: Level = Level.STANDARD
    hv_halted: bool = False
    probes: dict = field(default_factory=dict)


def run_soc(soc, max_cycles, *, until=None, trace=None, probes=None, stimulus=None,
            check_every=64):
    """Simulate ``soc`` for at most ``max_cycles`` cycles (stop early when ``until(run)``).

    ``stimulus(ctx, cycle)`` is called every cycle before the clock edge (drive pins).
    """
    run = SocRun()

    async def bench(ctx):
        out = []
        line = []
        level = Level.STANDARD
        cause = 0
        for cycle in range(max_cycles):
            if stimulus:
                stimulus(ctx, cycle)
            released = ctx.get(soc.latch.release_fire)
            await ctx.tick()
            if ctx.get(soc.console_strobe):
                char = chr(ctx.get(soc.console_byte))
                out.append(char)
                if char == "\n":
                    run.console_lines.append((cycle + 1, "".join(line)))
                    line = []
                else:
                    line.append(char)
            new = Level(ctx.get(soc.level))
            new_cause = ctx.get(soc.latch.cause)
            if new != level:
                fresh = new_cause & ~cause
                sources = ["consensus release"] if released else \
                    [c for i, c in enumerate(CAUSES) if fresh >> i & 1]
                run.level_changes.append((cycle + 1, level, new, sources))
                level = new
            cause = new_cause
            if until and cycle % check_every == 0:
                run.console, run.cycles, run.level = "".join(out), cycle + 1, level
                if until(run):
                    break
        run.console, run.cycles, run.level = "".join(out), cycle + 1, level
        run.hv_halted = bool(ctx.get(soc.hv_halt))
        for name, sig in (probes or {}).items():
            run.probes[name] = ctx.get(sig)

    simulate(soc, bench, trace=trace)
    return run
