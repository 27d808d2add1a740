"""The NIC gate with its UART PHY on Icarus and Verilator (cocotb, tests/cocotb/tb_nic_gate.py).

One design (``NicGate`` with 2 models, 16-byte frames, 2 quarantine and 2 ingress slots per model,
behind a ``UartPhy`` at 16 cycles per bit), built once per simulator. The testbench plays the
models (mailbox ports), the hypervisor (CSR ports) and the network (bit-level UART on
``line_rx``/``line_tx``, with the PHY testbench's driver and monitor): released frames and only
those reach the line, in order, with the hardware tag; ingress with damaged traffic and a baud
mismatch reaches the tagged model only and recovers; the kill latch's egress block and network
cut hold.
"""

import json
import re
from pathlib import Path

import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine.hdl.nic_gate import GATE_REGISTERS, NicGate
from guillotine.hdl.nic_phy import RX_COUNTERS, TX_COUNTERS, UartPhy
from guillotine.hdl.regs import CSRSignature
from guillotine.hdl.soc import MailboxSignature
from guillotine.sim.cocotb_runner import run_cocotb

pytestmark = pytest.mark.cocotb

BAUD = 115200
PARAMS = {"divisor": 16, "max_frame": 16, "models": 2, "buffer_frames": 2, "rx_frames": 2}
TB_TESTS = 4


class GatePhyTop(wiring.Component):
    """NicGate + UartPhy as the SoC wires them (``tx_enable = ~net_cut``), with the model
    mailboxes, the hypervisor CSR ports, the latch effects and the PHY counters at the top."""

    def __init__(self, mutation=None):
        clk = BAUD * PARAMS["divisor"]
        n, max_frame = PARAMS["models"], PARAMS["max_frame"]
        self.gate = NicGate(n, max_frame=max_frame, buffer_frames=PARAMS["buffer_frames"],
                            rx_frames=PARAMS["rx_frames"], rate=clk, clk_hz=clk, credits=255)
        self.gate.mutation = mutation
        self.phy = UartPhy(clk, BAUD, max_frame)
        members = {"line_tx": Out(1, init=1), "line_rx": In(1, init=1),
                   "egress_block": In(1), "net_cut": In(1),
                   **{f"phy_{name}": Out(16) for name in RX_COUNTERS + TX_COUNTERS}}
        for i in range(n):
            members[f"mailbox_{i}"] = In(MailboxSignature())
            members[f"csr_{i}"] = In(CSRSignature(GATE_REGISTERS.addr_width))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.gate, m.submodules.phy = gate, phy = self.gate, self.phy
        wiring.connect(m, gate.phy_tx, phy.tx)
        wiring.connect(m, phy.rx, gate.phy_rx)
        m.d.comb += [phy.tx_enable.eq(~self.net_cut), gate.egress_block.eq(self.egress_block),
                     gate.net_cut.eq(self.net_cut), self.line_tx.eq(phy.line_tx),
                     phy.line_rx.eq(self.line_rx)]
        m.d.comb += [getattr(self, f"phy_{name}").eq(getattr(phy, name))
                     for name in RX_COUNTERS + TX_COUNTERS]
        for i in range(PARAMS["models"]):
            wiring.connect(m, wiring.flipped(getattr(self, f"mailbox_{i}")),
                           getattr(gate, f"mailbox_{i}"))
            wiring.connect(m, wiring.flipped(getattr(self, f"csr_{i}")), getattr(gate, f"csr_{i}"))
        return m


def run_gate_tb(simulator, mutation=None, seed=5, testcase=None):
    return run_cocotb(GatePhyTop(mutation), "tb_nic_gate", simulator=simulator,
                      testcase=testcase,
                      extra_env={"GUILLOTINE_TB_PARAMS": json.dumps(PARAMS),
                                 "GUILLOTINE_TB_SEED": seed})


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_nic_gate_cocotb(simulator):
    result = run_gate_tb(simulator)
    assert result.tests == TB_TESTS and result.failed == 0


#: A deliberate gate bug (hdl/nic_gate.py MUTANTS), the cocotb test that must catch it and the
#: failure it must report.
MUTANT_CASES = [
    ("release_bypass", "egress_only_released_frames_leave", "with no release outstanding"),
    ("toctou", "egress_only_released_frames_leave", "is not the oldest committed"),
    ("rx_misroute", "ingress_routing_damage_and_recovery", "model 0 got"),
    ("probation_leak", "egress_block_holds_released_frames", "did not stay stalled"),
    ("severance_leak", "net_cut_idles_line_and_drops_ingress", "net_cut did not stall"),
    ("rx_when_cut", "net_cut_idles_line_and_drops_ingress", "ingress delivered under net_cut"),
]


@pytest.mark.parametrize("mutation, testcase, message", MUTANT_CASES,
                         ids=[case[0] for case in MUTANT_CASES])
def test_nic_gate_cocotb_catches_mutant(mutation, testcase, message):
    """The testbench's checks can fail: each mutant (Icarus, one testbench case) is caught with
    the expected message."""
    with pytest.raises(AssertionError, match="cocotb tests failed") as failure:
        run_gate_tb("icarus", mutation, testcase=testcase)
    log = Path(re.search(r"\(log: (\S+)\)", str(failure.value)).group(1))
    assert message in log.read_text(errors="replace"), f"{mutation}: see {log}"
