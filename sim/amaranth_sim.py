"""A thin helper around Amaranth's simulator for tests and users.

    from guillotine.sim.amaranth_sim import simulate

    async def bench(ctx):
        ctx.set(dut.kick, 1)
        await ctx.tick()
        assert ctx.get(dut.level) == 0

    simulate(dut, bench, trace="latch.vcd")

``simulate`` adds a 1 MHz ``sync`` clock, runs each testbench to completion, and optionally writes
a VCD (``.vcd``) or GTKWave save-file-compatible trace.
"""

import contextlib

from amaranth.sim import Simulator


def simulate(dut, *testbenches, trace=None, clock_period=1e-6, deadline=None, processes=()):
    """Simulate ``dut`` with a ``sync`` clock and run ``testbenches`` (``async def tb(ctx)``).

    ``trace``: path of a VCD file to write (``None`` for no trace). ``deadline``: stop after this
    many seconds of simulated time even if a testbench is still running. Returns the Simulator.
    """
    sim = Simulator(dut)
    sim.add_clock(clock_period)
    for bench in testbenches:
        sim.add_testbench(bench)
    for proc in processes:
        sim.add_process(proc)
    writer = sim.write_vcd(str(trace)) if trace else contextlib.nullcontext()
    with writer:
        if deadline is None:
            sim.run()
        else:
            sim.run_until(deadline)
    return sim
