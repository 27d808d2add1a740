"""cocotb testbench of the RV32I core on the exported Verilog of ``CoreWithRAM(loader=True)``.

Programs arrive in a JSON suite named by ``GUILLOTINE_CPU_SUITE``::

    {"programs": {"name": {"image": "<hex>", "max_cycles": N,
                           "expect": {"outcome": "tohost"|"halt"|"timeout", "tohost": 1,
                                      "cause": 8, "regs": {"10": 5050},
                                      "trace": [[pc, insn, rd, value], ...]}}},
     "results": "<path of a JSON file to write, optional>"}

Each program is one cocotb test (``program_<name>``): the testbench holds the reset, writes the
image through the harness's loader port (zero-filling the rest of the RAM, so programs do not see
each other's data), releases the reset and runs until the core stores to ``tohost``, halts, or
``max_cycles`` pass. Registers are tracked from the retirement port. Every given expectation is
checked (the ``trace`` one compares every retired instruction with the ISA model's).
"""

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

_SUITE_PATH = os.environ.get("GUILLOTINE_CPU_SUITE")
SUITE = json.loads(Path(_SUITE_PATH).read_text()) if _SUITE_PATH else {"programs": {}}
PROGRAMS = SUITE["programs"]
RAM_WORDS = int(SUITE.get("ram_words", 0))


async def run_image(dut, data, max_cycles, ram_words):
    """Load ``data`` at address 0 under reset, run, and return a result dict."""
    dut.rst.value = 1
    dut.load_en.value = 1
    words = max(ram_words, (len(data) + 3) // 4)
    padded = data + bytes(4 * words - len(data))
    await FallingEdge(dut.clk)
    for i in range(words):
        dut.load_addr.value = i
        dut.load_data.value = int.from_bytes(padded[4 * i:4 * i + 4], "little")
        await FallingEdge(dut.clk)
    dut.load_en.value = 0
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    regs = [0] * 32
    trace = []
    result = {"outcome": "timeout", "cycles": 0, "retired": 0}
    cycles = 0
    started = time.perf_counter()
    while cycles < max_cycles:
        await RisingEdge(dut.clk)
        await ReadOnly()
        cycles += 1
        if int(dut.retire_valid.value):
            entry = [int(dut.retire_pc.value), int(dut.retire_insn.value),
                     int(dut.retire_rd.value), int(dut.retire_value.value)]
            trace.append(entry)
            if entry[2]:
                regs[entry[2]] = entry[3]
        if int(dut.tohost_valid.value):
            result.update(outcome="tohost", tohost=int(dut.tohost_value.value))
            break
        if int(dut.halt.value):
            result.update(outcome="halt", cause=int(dut.cause.value), pc=int(dut.pc.value))
            break
    result.update(cycles=cycles, retired=len(trace), regs=regs, trace=trace,
                  seconds=time.perf_counter() - started)
    await FallingEdge(dut.clk)
    return result


def check(name, result, expect):
    where = f"program {name}"
    if "trace" in expect:
        for i, (got, want) in enumerate(zip(result["trace"], expect["trace"])):
            assert got == want, (f"{where}: retirement #{i} core {[hex(v) for v in got]} "
                                 f"!= model {[hex(v) for v in want]}")
        assert len(result["trace"]) == len(expect["trace"]), \
            f"{where}: core retired {len(result['trace'])}, model {len(expect['trace'])}"
    if "outcome" in expect:
        assert result["outcome"] == expect["outcome"], f"{where}: {result['outcome']} " \
            f"(cause {result.get('cause')}) != {expect['outcome']}"
    if "tohost" in expect:
        assert result.get("tohost") == expect["tohost"], f"{where}: tohost {result.get('tohost')}"
    if "cause" in expect:
        assert result.get("cause") == expect["cause"], f"{where}: cause {result.get('cause')}"
    for reg, value in expect.get("regs", {}).items():
        assert result["regs"][int(reg)] == value, \
            f"{where}: x{reg} = {result['regs'][int(reg)]:#x}, expected {value:#x}"


@cocotb.test(skip=not PROGRAMS)
@cocotb.parametrize(name=sorted(PROGRAMS) or ["none"])
async def program(dut, name):
    """Run one program of the suite and check its expectations."""
    Clock(dut.clk, 10, unit="ns").start()
    spec = PROGRAMS[name]
    result = await run_image(dut, bytes.fromhex(spec["image"]), int(spec["max_cycles"]),
                             RAM_WORDS)
    dut._log.info("%s: %s after %d cycles, %d retired", name, result["outcome"],
                  result["cycles"], result["retired"])
    if SUITE.get("results"):
        out = Path(SUITE["results"])
        done = json.loads(out.read_text()) if out.exists() else {}
        keep = {k: v for k, v in result.items() if k != "trace" or spec.get("keep_trace")}
        done[name] = keep
        out.write_text(json.dumps(done))
    check(name, result, spec.get("expect", {}))
