"""The core's iCE40UP5K budget (issue goals): at most 1,000 LC and at least 24 MHz.

Placed and routed as :class:`CoreSynthTop` (core + 4 KiB BusRAM, 13 pins); the RAM's own share
is ~40 LUTs, so checking the bound on the whole top is conservative.
"""

import pytest

from guillotine.boards.synth import synthesize_ice40
from guillotine.hdl.cpu.core import RV32ICore
from guillotine.hdl.cpu.harness import CoreSynthTop

pytestmark = pytest.mark.synth


def test_core_fits_up5k_budget(tmp_path):
    report = synthesize_ice40(CoreSynthTop(), "rv32i_core_ram4k", build_dir=tmp_path / "top")
    assert report.lc <= 1000, f"{report.lc} LC"
    assert report.fmax_mhz >= 24, f"{report.fmax_mhz} MHz"
    # Register file (4) + 4 KiB RAM (8) in block RAM; no read-during-write bypass flip-flops.
    assert report.ebr == 12
    assert report.ff <= 200, f"{report.ff} FF (a BRAM read bypass would add ~70 per port)"


def test_register_file_maps_to_block_ram(tmp_path):
    report = synthesize_ice40(RV32ICore(), "rv32i_core", pnr=False, build_dir=tmp_path / "core")
    assert report.ebr == 4
    assert report.ff <= 200
