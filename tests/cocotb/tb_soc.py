"""cocotb testbench of the whole SoC on its exported Verilog (Icarus and Verilator).

The SoC is built by tests/test_soc_cocotb.py with the hypervisor monitor, a benign model and a
rogue one. The testbench runs it, captures the console from the console UART's accepted bytes,
and checks that the rogue model was reported halted, the benign one inspected, and the kill latch
escalated to PROBATION. It logs the simulation speed (cycles per second).
"""

import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

CYCLES = int(os.environ.get("GUILLOTINE_TB_CYCLES", "8000"))


@cocotb.test()
async def rogue_model_is_contained(dut):
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.panic.value = 0
    dut.keys.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    console = []
    start = time.perf_counter()
    for _ in range(CYCLES):
        await RisingEdge(dut.clk)
        if dut.console_strobe.value == 1:
            console.append(chr(int(dut.console_byte.value)))
    elapsed = time.perf_counter() - start
    text = "".join(console)
    dut._log.info("console: %r", text)
    dut._log.info("speed: %.0f cycles/s", CYCLES / elapsed)
    with open(os.environ.get("GUILLOTINE_TB_SPEED_FILE", os.devnull), "w") as f:
        f.write(f"{CYCLES / elapsed:.0f}\n")
    assert text.startswith("GUILLOTINE hypervisor\nstarting models\n")
    assert "M1 HALT 6\n" in text
    assert "M0=" in text
    assert int(dut.level.value) == 1          # PROBATION
    assert int(dut.hv_halt.value) == 0
