"""Run the kill latch cocotb testbench on Icarus and Verilator (one build per simulator)."""

import json

import pytest

from guillotine.hdl.kill_latch import KillLatch
from guillotine.sim.cocotb_runner import run_cocotb

pytestmark = pytest.mark.cocotb

PARAMS = dict(debounce_cycles=3, release_window=40, wdog_period=20, viol_threshold=3,
              wdog_level="OFFLINE", panic_level="SEVERANCE")


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_latch_random_sequences(simulator):
    result = run_cocotb(KillLatch(**PARAMS), "tb_kill_latch", simulator=simulator,
                        extra_env={"GUILLOTINE_TB_PARAMS": json.dumps(PARAMS),
                                   "GUILLOTINE_TB_SEED": 7})
    assert result.tests == 2 and result.failed == 0


def test_latch_trace_is_written():
    """``waves=True`` gives an FST trace a user can open in GTKWave."""
    result = run_cocotb(KillLatch(**PARAMS), "tb_kill_latch", simulator="icarus", waves=True,
                        testcase="escalation_ladder_walk",
                        extra_env={"GUILLOTINE_TB_PARAMS": json.dumps(PARAMS)})
    assert result.waves is not None and result.waves.stat().st_size > 0
