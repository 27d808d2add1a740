"""The RV32I core's exported Verilog on Icarus and Verilator (cocotb), one build per simulator.

All programs run on one design (``CoreWithRAM(4096, loader=True)``): the testbench loads each
program through the loader port while the core is held in reset. Expected results and the full
retirement trace come from the ISA model (:mod:`guillotine.sim.isa`).
"""

import json
import random

import pytest

from guillotine.firmware.asm import assemble_text
from guillotine.hdl.cpu.causes import HaltCause
from guillotine.hdl.cpu.harness import CoreWithRAM
from guillotine.sim.cocotb_runner import run_cocotb
from guillotine.sim.cpu_run import DEFAULT_TOHOST
from guillotine.sim.isa import Machine

pytestmark = pytest.mark.cocotb

RAM = 4096
PASS = "li t6, 1\nsw t6, -16(zero)\n"          # tohost = 1
FAIL = "li t6, 3\nsw t6, -16(zero)\n"          # tohost = 3: test 1 failed

PROGRAMS = {
    "sum_loop": f"""
        li a0, 0
        li a1, 100
    1:  add a0, a0, a1
        addi a1, a1, -1
        bnez a1, 1b
        li t0, 5050
        bne a0, t0, fail
        {PASS}
    fail:
        {FAIL}
    """,
    "memcpy": f"""
        li t0, 0x800
        li t2, 16
        li a0, 0x9e3779b9
    fill:
        sw a0, 0(t0)
        slli a1, a0, 7
        srai a2, a0, 3
        xor a0, a1, a2
        addi a0, a0, 0x123
        addi t0, t0, 4
        addi t2, t2, -1
        bnez t2, fill
        li t0, 0x800
        li t1, 0xa00
        li t2, 64
    copy:
        lb a1, 0(t0)
        sb a1, 0(t1)
        addi t0, t0, 1
        addi t1, t1, 1
        addi t2, t2, -1
        bnez t2, copy
        li t0, 0x800
        li t2, 16
    check:
        lw a1, 0(t0)
        lw a2, 0x200(t0)
        bne a1, a2, fail
        lhu a3, 2(t0)
        lhu a4, 0x202(t0)
        bne a3, a4, fail
        addi t0, t0, 4
        addi t2, t2, -1
        bnez t2, check
        {PASS}
    fail:
        {FAIL}
    """,
    "ecall": "li a0, 1\necall",
    "ebreak": "li a0, 1\nebreak",
    "illegal": "li a0, 1\n.word 0xffffffff",
    "misaligned_fetch": "li t0, 0x102\njalr t0",
    "misaligned_load": "li t0, 0x101\nlh a0, 0(t0)",
    "misaligned_store": "li t0, 0x102\nsw a0, 0(t0)",
    "bus_error_fetch": "li t0, 0x10000\njr t0",
    "bus_error_load": "li t0, 0x10000\nlbu a0, 0(t0)",
    "bus_error_store": "li t0, 0x10000\nsh a0, 0(t0)",
}


def _random_program(seed, n=60):
    """A straight-line mix of ALU, shift, load/store and forward-branch instructions."""
    rng = random.Random(seed)
    regs = [1, 3, 4, 5, 6, 7]
    lines = ["li x2, 0x800"] + [f"li x{r}, {rng.randrange(-2**31, 2**31)}" for r in regs]
    for i in range(n):
        rd, a, b = rng.choice(regs), rng.choice(regs), rng.choice(regs)
        kind = rng.randrange(6)
        lines.append(f"L{i}:")
        if kind == 0:
            op = rng.choice(["add", "sub", "slt", "sltu", "xor", "or", "and", "sll", "srl", "sra"])
            lines.append(f"{op} x{rd}, x{a}, x{b}")
        elif kind == 1:
            op = rng.choice(["addi", "slti", "sltiu", "xori", "ori", "andi"])
            lines.append(f"{op} x{rd}, x{a}, {rng.randrange(-2048, 2048)}")
        elif kind == 2:
            lines.append(f"{rng.choice(['slli', 'srli', 'srai'])} x{rd}, x{a}, {rng.randrange(32)}")
        elif kind == 3:
            op, size = rng.choice([("lb", 1), ("lbu", 1), ("lh", 2), ("lhu", 2), ("lw", 4)])
            lines.append(f"{op} x{rd}, {size * rng.randrange(-32 // size, 32 // size)}(x2)")
        elif kind == 4:
            op, size = rng.choice([("sb", 1), ("sh", 2), ("sw", 4)])
            lines.append(f"{op} x{a}, {size * rng.randrange(-32 // size, 32 // size)}(x2)")
        else:
            op = rng.choice(["beq", "bne", "blt", "bge", "bltu", "bgeu"])
            lines.append(f"{op} x{a}, x{b}, L{rng.randrange(i + 1, n + 1)}")
    lines.append(f"L{n}:\nebreak")
    return "\n".join(lines)


for _seed in range(3):
    PROGRAMS[f"random_{_seed}"] = _random_program(_seed)


def _expect(image):
    """Run the ISA model: outcome, tohost, cause, registers and the retirement trace."""
    stored = []

    def hook(addr, value, size):
        if addr == DEFAULT_TOHOST:
            stored.append(value)
            return True
        return False

    m = Machine(ram_size=RAM, image=image, store_hook=hook)
    trace = []
    while len(trace) < 20_000 and not stored:
        r = m.step()
        if r is None:
            break
        trace.append(list(r))
    expect = {"trace": trace, "regs": {str(i): v for i, v in enumerate(m.regs) if i}}
    if stored:
        expect.update(outcome="tohost", tohost=stored[0])
    else:
        assert m.halted
        expect.update(outcome="halt", cause=int(m.cause))
    return expect


def build_suite(tmp_path):
    programs = {}
    for name, source in PROGRAMS.items():
        image = assemble_text(source).data
        programs[name] = {"image": image.hex(), "max_cycles": 20_000, "expect": _expect(image)}
    # Sanity of the expectations themselves: the self-checking programs pass on the model.
    assert programs["sum_loop"]["expect"]["tohost"] == 1
    assert programs["memcpy"]["expect"]["tohost"] == 1
    assert programs["ecall"]["expect"]["cause"] == HaltCause.ECALL
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"programs": programs, "ram_words": RAM // 4}))
    return path


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_programs_on_verilog(simulator, tmp_path):
    suite = build_suite(tmp_path)
    dut = CoreWithRAM(RAM, b"", tohost=DEFAULT_TOHOST, loader=True)
    result = run_cocotb(dut, "tb_cpu", simulator=simulator,
                        extra_env={"GUILLOTINE_CPU_SUITE": suite})
    assert result.tests == len(PROGRAMS) and result.failed == 0
