"""The whole SoC on Icarus and Verilator: a rogue model is contained (one build per simulator)."""

import pytest

from guillotine.firmware.programs import ROGUE_MODELS, counter_model, hypervisor_monitor
from guillotine.hdl.soc import GuillotineSoC
from guillotine.sim.cocotb_runner import run_cocotb

pytestmark = pytest.mark.cocotb


def soc_for_cocotb():
    return GuillotineSoC(2, hypervisor_monitor(2), model_ram_bytes=4096, clk_hz=4_000_000,
                         baud=2_000_000,
                         model_images=[counter_model(), ROGUE_MODELS["read_hypervisor_ram"][0]()])


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_soc_on_hdl_simulators(simulator):
    result = run_cocotb(soc_for_cocotb(), "tb_soc", simulator=simulator)
    assert result.tests == 1 and result.failed == 0
