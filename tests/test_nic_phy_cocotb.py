"""The NIC UART PHY's exported Verilog on Icarus and Verilator (cocotb, tests/cocotb/tb_nic_phy.py).

One design (``UartPhy`` at 16 cycles per bit, ``max_frame=32``), built once per simulator; the
testbench drives and watches the serial lines bit by bit: random frames both ways, back-to-back
frames with a stalling consumer, damaged traffic against the host reference decoder, baud
mismatch (4 % received, 7 % dropped and counted) and recovery, and the transmit line held idle
while ``tx_enable`` is low.
"""

import json

import pytest

from guillotine.hdl.nic_phy import UartPhy
from guillotine.sim.cocotb_runner import run_cocotb

pytestmark = pytest.mark.cocotb

BAUD = 115200
PARAMS = {"divisor": 16, "max_frame": 32}


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_nic_phy_cocotb(simulator):
    phy = UartPhy(BAUD * PARAMS["divisor"], BAUD, max_frame=PARAMS["max_frame"])
    result = run_cocotb(phy, "tb_nic_phy", simulator=simulator,
                        extra_env={"GUILLOTINE_TB_PARAMS": json.dumps(PARAMS),
                                   "GUILLOTINE_TB_SEED": 11})
    assert result.tests == 5 and result.failed == 0
