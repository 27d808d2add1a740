"""cocotb testbench of the kill latch on its exported Verilog (Icarus and Verilator).

Random trip sequences from :func:`guillotine.sim.kill_latch_model.random_stimulus` drive both the
design and the Python reference model; level, causes, effects and register reads must agree at
every cycle. Each episode starts with a reset. Parameters arrive as JSON in GUILLOTINE_TB_PARAMS.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from guillotine.hdl.kill_latch import EFFECTS, Level
from guillotine.sim.kill_latch_model import KillLatchModel, random_stimulus

PARAMS = json.loads(os.environ.get("GUILLOTINE_TB_PARAMS", "{}"))
SEED = int(os.environ.get("GUILLOTINE_TB_SEED", "1"))
EPISODES = int(os.environ.get("GUILLOTINE_TB_EPISODES", "4"))
CYCLES = int(os.environ.get("GUILLOTINE_TB_CYCLES", "1500"))


def _effects_word(effects):
    return sum(v << i for i, v in enumerate(effects[name] for name in EFFECTS))


async def _reset(dut):
    dut.rst.value = 1
    for name in ("csr__w_stb", "csr__addr", "csr__w_data", "violation", "panic", "keys"):
        getattr(dut, name).value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


@cocotb.test()
async def random_trip_sequences_match_model(dut):
    """Random CSR traffic, violations, panic and key presses: RTL == reference model."""
    Clock(dut.clk, 10, unit="ns").start()
    rng = random.Random(SEED)
    levels, releases = set(), 0
    for episode in range(EPISODES):
        await _reset(dut)
        model = KillLatchModel(**PARAMS)
        level_word = model.regs["LEVEL"].offset // 4
        for cycle, inputs in enumerate(random_stimulus(rng, model, CYCLES)):
            out = model.outputs()
            where = f"episode {episode} cycle {cycle}"
            assert int(dut.level.value) == out["level"], where
            assert int(dut.level_valid.value) == out["level_valid"], where
            assert int(dut.cause.value) == out["cause"], where
            assert int(dut.effects.value) == _effects_word(out["effects"]), where
            levels.add(out["level"])
            dut.csr__w_stb.value = inputs["w_stb"]
            dut.csr__addr.value = inputs["w_addr"]
            dut.csr__w_data.value = inputs["w_data"]
            dut.violation.value = inputs["violation"]
            dut.panic.value = inputs["panic"]
            dut.keys.value = inputs["keys"]
            if not inputs["w_stb"] and cycle % 7 == 0:
                # A register read: LEVEL is combinational on the address.
                dut.csr__addr.value = level_word
                await cocotb.triggers.Timer(1, unit="ns")
                assert int(dut.csr__r_data.value) & 7 == out["level"], where
            releases += model.step(**inputs)
            await FallingEdge(dut.clk)
    dut._log.info("levels seen %s, releases %d", sorted(levels), releases)
    assert len(levels) >= 3 and releases >= 1


@cocotb.test()
async def escalation_ladder_walk(dut):
    """Firmware walks the ladder one level at a time; each effect set is a superset."""
    Clock(dut.clk, 10, unit="ns").start()
    await _reset(dut)
    model = KillLatchModel(**PARAMS)
    request = model.regs["REQUEST"].offset // 4
    previous = 0
    for level in Level:
        dut.csr__addr.value = request
        dut.csr__w_data.value = int(level)
        dut.csr__w_stb.value = 1
        await FallingEdge(dut.clk)
        dut.csr__w_stb.value = 0
        assert int(dut.level.value) == level
        effects = int(dut.effects.value)
        assert effects & previous == previous
        previous = effects
    assert previous == (1 << len(EFFECTS)) - 1
