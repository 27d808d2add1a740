"""Fault injection: flip every single state bit and every pair, at every level, in simulation.

After the upset the latch must never be weaker than before it, neither during the upset cycle
(outputs are decoded from the corrupted word) nor after the next edge (LATCH.FSM.SPARSE).
"""

import itertools

import pytest

from guillotine.hdl.kill_latch import (CAUSES, EFFECTS, ENCODING, LEVEL_EFFECTS, STATE_BITS,
                                       KillLatch, Level)
from guillotine.sim.amaranth_sim import simulate

FLIPS = [1 << i for i in range(STATE_BITS)] + \
        [(1 << i) | (1 << j) for i, j in itertools.combinations(range(STATE_BITS), 2)]


def _effects(ctx, dut):
    value = ctx.get(dut.effects.as_value())
    return {name for i, name in enumerate(EFFECTS) if value >> i & 1}


@pytest.mark.parametrize("fault_level", ["IMMOLATION", "OFFLINE", "PROBATION"])
def test_single_and_double_bit_flips(fault_level):
    dut = KillLatch(fault_level=fault_level, debounce_cycles=2, release_window=8)
    word = {r.name: r.offset // 4 for r in dut.registers.registers}
    checked = 0

    async def bench(ctx):
        nonlocal checked
        for level in Level:
            for flip in FLIPS:
                # Reach `level` (through the state word itself, as a previous trip would).
                ctx.set(dut.state, ENCODING[level])
                await ctx.delay(1e-9)
                assert ctx.get(dut.level) == level
                before = set(LEVEL_EFFECTS[level])
                # Upset: flip bits of the state register.
                ctx.set(dut.state, ENCODING[level] ^ flip)
                await ctx.delay(1e-9)
                assert not ctx.get(dut.level_valid)
                assert ctx.get(dut.level) >= max(level, dut.fault_level)
                assert _effects(ctx, dut) >= before
                await ctx.tick()
                after = ctx.get(dut.level)
                assert ctx.get(dut.level_valid)          # back to a valid code on the next edge
                assert after >= level and after >= dut.fault_level
                assert _effects(ctx, dut) >= before
                assert ctx.get(dut.cause) >> CAUSES.index("fault") & 1
                # And a firmware request still cannot bring it down.
                ctx.set(dut.csr.addr, word["REQUEST"])
                ctx.set(dut.csr.w_data, Level.STANDARD)
                ctx.set(dut.csr.w_stb, 1)
                await ctx.tick()
                ctx.set(dut.csr.w_stb, 0)
                assert ctx.get(dut.level) >= after
                checked += 1

    simulate(dut, bench)
    assert checked == len(Level) * (7 + 21)


def test_single_flip_recovers_exact_level_with_low_fault_level():
    """With a low fault level a single flip decodes back to the level it came from."""
    dut = KillLatch(fault_level="PROBATION")

    async def bench(ctx):
        for level in Level:
            for bit in range(STATE_BITS):
                ctx.set(dut.state, ENCODING[level] ^ (1 << bit))
                await ctx.delay(1e-9)
                assert ctx.get(dut.level) == max(level, Level.PROBATION)

    simulate(dut, bench)
