"""RV32I core (hdl/cpu/core.py) in the Amaranth simulator: one directed test per instruction and
per halt cause, bus-protocol checks, and hypothesis lockstep against the ISA model (sim/isa.py).
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from amaranth import Shape
from amaranth.lib import wiring

from guillotine.firmware.asm import assemble_text, encode_b
from guillotine.hdl.bus import BusRAM, BusSignature
from guillotine.hdl.cpu.causes import HaltCause
from guillotine.hdl.cpu.core import RV32ICore
from guillotine.hdl.cpu.harness import CoreWithRAM
from guillotine.sim.amaranth_sim import simulate
from guillotine.sim.cpu_run import run_amaranth
from guillotine.sim.isa import Machine

RAM = 1024
TOHOST = 0x3FC


def lockstep(image, *, ram_size=RAM, max_cycles=20_000, tohost=None):
    """Run ``image`` on the core and on the ISA model, comparing every retirement, the final
    registers, the halt cause and the RAM. Returns (core run, machine)."""
    data = image.data if hasattr(image, "data") else bytes(image)
    swallowed = []

    def store_hook(addr, value, size):
        if tohost is not None and addr == tohost:
            swallowed.append(value)
            return True
        return False

    machine = Machine(ram_size=ram_size, image=data, store_hook=store_hook)
    count = [0]

    def on_retire(entry):
        expected = machine.step()
        assert expected is not None, (f"core retired {entry} but the model halted "
                                      f"({machine.cause!r}) after {count[0]} instructions")
        assert (entry.pc, entry.insn, entry.rd, entry.value) == tuple(expected), \
            f"retirement #{count[0]}: core {entry} != model {expected}"
        count[0] += 1

    run = run_amaranth(data, ram_size=ram_size, max_cycles=max_cycles, tohost=tohost,
                       on_retire=on_retire, read_ram=True)
    if run.outcome == "halt":
        assert machine.step() is None, "core halted but the model retires another instruction"
        assert run.cause == machine.cause
    elif run.outcome == "tohost":
        assert swallowed and swallowed[-1] == run.tohost_value
    assert run.regs == [0] + machine.regs[1:], "register file differs from the model"
    if tohost is None or run.outcome != "tohost":
        assert run.ram == bytes(machine.mem), "RAM differs from the model"
    return run, machine


def asm(text):
    return assemble_text(text)


# --- one directed test per instruction ---------------------------------------------------------
# (source, {register: expected value}); every program ends with ebreak.
DIRECTED = {
    "lui": ("lui a0, 0xfedcb", {10: 0xFEDCB000}),
    "auipc": ("nop; auipc a0, 0x12345", {10: 0x12345004}),
    "jal": ("jal ra, 1f; li a0, 1; 1: li a1, 2", {1: 4, 10: 0, 11: 2}),
    "jalr": ("li t0, 9; jalr ra, 4(t0); li a0, 1; li a1, 2", {1: 8, 10: 0, 11: 2}),
    "beq": ("li t0, 5; li t1, 5; beq t0, t1, 1f; li a0, 1; 1: beq t0, zero, 2f; li a1, 2; 2:",
            {10: 0, 11: 2}),
    "bne": ("li t0, 5; li t1, 6; bne t0, t1, 1f; li a0, 1; 1: bne t0, t0, 2f; li a1, 2; 2:",
            {10: 0, 11: 2}),
    "blt": ("li t0, -1; li t1, 1; blt t0, t1, 1f; li a0, 1; 1: blt t1, t0, 2f; li a1, 2; 2:",
            {10: 0, 11: 2}),
    "bge": ("li t0, 1; li t1, -1; bge t0, t1, 1f; li a0, 1; 1: bge t1, t0, 2f; li a1, 2; 2:"
            "bge t0, t0, 3f; li a2, 3; 3:", {10: 0, 11: 2, 12: 0}),
    "bltu": ("li t0, 1; li t1, -1; bltu t0, t1, 1f; li a0, 1; 1: bltu t1, t0, 2f; li a1, 2; 2:",
             {10: 0, 11: 2}),
    "bgeu": ("li t0, -1; li t1, 1; bgeu t0, t1, 1f; li a0, 1; 1: bgeu t1, t0, 2f; li a1, 2; 2:",
             {10: 0, 11: 2}),
    "lb": ("li t0, 0x200; li t1, 0x80ff7f01; sw t1, 0(t0); lb a0, 1(t0); lb a1, 3(t0);"
           "lb a2, 0(t0)", {10: 0x7F, 11: 0xFFFFFF80, 12: 1}),
    "lh": ("li t0, 0x200; li t1, 0x80017fff; sw t1, 0(t0); lh a0, 0(t0); lh a1, 2(t0)",
           {10: 0x7FFF, 11: 0xFFFF8001}),
    "lw": ("li t0, 0x200; li t1, 0xdeadbeef; sw t1, 4(t0); lw a0, 4(t0)", {10: 0xDEADBEEF}),
    "lbu": ("li t0, 0x200; li t1, 0x80ff7f01; sw t1, 0(t0); lbu a0, 2(t0); lbu a1, 3(t0)",
            {10: 0xFF, 11: 0x80}),
    "lhu": ("li t0, 0x200; li t1, 0x80017fff; sw t1, 0(t0); lhu a0, 2(t0); lhu a1, 0(t0)",
            {10: 0x8001, 11: 0x7FFF}),
    "sb": ("li t0, 0x200; li t1, -1; sw t1, 0(t0); li t2, 0x1234; sb t2, 1(t0); sb zero, 3(t0);"
           "lw a0, 0(t0)", {10: 0x00FF34FF}),
    "sh": ("li t0, 0x200; li t1, -1; sw t1, 0(t0); li t2, 0x12345678; sh t2, 2(t0); lw a0, 0(t0)",
           {10: 0x5678FFFF}),
    "sw": ("li t0, 0x200; li t1, 0x01020304; sw t1, -4(t0); lw a0, -4(t0); lbu a1, -1(t0)",
           {10: 0x01020304, 11: 1}),
    "addi": ("li a0, 5; addi a0, a0, -7; addi a1, zero, 2047", {10: 0xFFFFFFFE, 11: 2047}),
    "slti": ("li t0, -5; slti a0, t0, -4; slti a1, t0, -5; slti a2, t0, 5", {10: 1, 11: 0, 12: 1}),
    "sltiu": ("li t0, 5; sltiu a0, t0, -1; sltiu a1, t0, 5; sltiu a2, zero, 1",
              {10: 1, 11: 0, 12: 1}),
    "xori": ("li t0, 0x0f0; xori a0, t0, 0x0ff; xori a1, t0, -1", {10: 0x00F, 11: 0xFFFFFF0F}),
    "ori": ("li t0, 0x0f0; ori a0, t0, 0x00f; ori a1, t0, -2048", {10: 0xFF, 11: 0xFFFFF8F0}),
    "andi": ("li t0, 0x0f0; andi a0, t0, 0x03c; andi a1, t0, -1", {10: 0x30, 11: 0xF0}),
    "slli": ("li t0, 0x81; slli a0, t0, 31; slli a1, t0, 4; slli a2, t0, 0",
             {10: 0x80000000, 11: 0x810, 12: 0x81}),
    "srli": ("li t0, 0x80000010; srli a0, t0, 4; srli a1, t0, 31", {10: 0x08000001, 11: 1}),
    "srai": ("li t0, 0x80000010; srai a0, t0, 4; srai a1, t0, 31; li t1, 0x40000000;"
             "srai a2, t1, 30", {10: 0xF8000001, 11: 0xFFFFFFFF, 12: 1}),
    "add": ("li t0, 0x7fffffff; li t1, 1; add a0, t0, t1; add a1, t0, t0",
            {10: 0x80000000, 11: 0xFFFFFFFE}),
    "sub": ("li t0, 3; li t1, 5; sub a0, t0, t1; sub a1, t1, t0", {10: 0xFFFFFFFE, 11: 2}),
    "sll": ("li t0, 3; li t1, 33; sll a0, t0, t1; li t2, 31; sll a1, t0, t2",
            {10: 6, 11: 0x80000000}),
    "slt": ("li t0, -1; li t1, 1; slt a0, t0, t1; slt a1, t1, t0; slt a2, t0, t0",
            {10: 1, 11: 0, 12: 0}),
    "sltu": ("li t0, -1; li t1, 1; sltu a0, t0, t1; sltu a1, t1, t0", {10: 0, 11: 1}),
    "xor": ("li t0, 0xff00ff00; li t1, 0x0ff00ff0; xor a0, t0, t1", {10: 0xF0F0F0F0}),
    "srl": ("li t0, 0x80000000; li t1, 35; srl a0, t0, t1", {10: 0x10000000}),
    "sra": ("li t0, 0x80000000; li t1, 35; sra a0, t0, t1; li t2, 0x70000000; sra a1, t2, t1",
            {10: 0xF0000000, 11: 0x0E000000}),
    "or": ("li t0, 0xff00ff00; li t1, 0x0ff00ff0; or a0, t0, t1", {10: 0xFFF0FFF0}),
    "and": ("li t0, 0xff00ff00; li t1, 0x0ff00ff0; and a0, t0, t1", {10: 0x0F000F00}),
    "fence": ("li a0, 1; fence; fence rw, w; li a1, 2", {10: 1, 11: 2}),
    "x0": ("li t0, 5; add zero, t0, t0; addi a0, zero, 0; lw zero, 0(zero)", {0: 0, 10: 0}),
}


@pytest.mark.parametrize("name", sorted(DIRECTED))
def test_instruction(name):
    source, expected = DIRECTED[name]
    run, machine = lockstep(asm(source.replace("; ", "\n").replace(";", "\n") + "\nebreak"))
    assert run.outcome == "halt" and run.cause == HaltCause.EBREAK
    for reg, value in expected.items():
        assert run.regs[reg] == value, f"x{reg} = {run.regs[reg]:#x}, expected {value:#x}"


def test_instruction_table_covers_rv32i():
    names = set(DIRECTED) - {"x0"}
    assert len(names) == 38          # 37 RV32I computational/memory/control + fence
    # ecall and ebreak are covered by the halt tests below


def test_retirement_trace_and_cycle_counts():
    """ALU = 3 cycles, load/store = 5, branch = 4, shift = 4 + shamt (BusRAM: 1 wait)."""
    image = asm("li a0, 3\nsw a0, 0x100(zero)\nlw a1, 0x100(zero)\nbeq a0, a1, 1f\nnop\n"
                "1: slli a2, a0, 5\nebreak")
    run = run_amaranth(image.data, ram_size=RAM, keep_trace=True)
    assert [e.pc for e in run.trace] == [0, 4, 8, 12, 20]
    assert run.trace[0].rd == 10 and run.trace[0].value == 3
    assert run.trace[1].rd == 0 and run.trace[1].value == 0           # store writes nothing
    assert run.trace[2].rd == 11 and run.trace[2].value == 3
    assert run.trace[4].insn == image.words[5] and run.trace[4].value == 96
    # start(1) + addi 3 + sw 5 + lw 5 + beq 4 + slli (4 + 5) + ebreak fetch/exec 3
    assert run.cycles == 1 + 3 + 5 + 5 + 4 + 9 + 3
    assert run.outcome == "halt" and run.retired == 5


# --- halt causes ------------------------------------------------------------------------------

def _branch_to(offset):
    return f".word {encode_b(0, 0, 0, offset):#x}"      # beq x0, x0, offset


HALTS = {
    "ecall": ("li a0, 1\necall\nli a0, 2", HaltCause.ECALL, 1),
    "ebreak": ("li a0, 1\nebreak\nli a0, 2", HaltCause.EBREAK, 1),
    "illegal_zero": ("li a0, 1\n.word 0\nli a0, 2", HaltCause.ILLEGAL, 1),
    "illegal_csr": ("li a0, 1\n.word 0x30002573", HaltCause.ILLEGAL, 1),      # csrr a0, mstatus
    "illegal_funct7": ("li a0, 1\n.word 0x40001033", HaltCause.ILLEGAL, 1),     # sub-like sll
    "illegal_compressed": ("li a0, 1\n.word 0x00000001", HaltCause.ILLEGAL, 1),
    "illegal_load_funct3": ("li a0, 1\n.word 0x00003503", HaltCause.ILLEGAL, 1),  # ld
    "misaligned_jalr": ("li t0, 0x102\njalr ra, 0(t0)", HaltCause.MISALIGNED_FETCH, 1),
    "misaligned_jal": ("li a0, 1\n.word 0x0020006f", HaltCause.MISALIGNED_FETCH, 1),  # jal +2
    "misaligned_branch": (f"li a0, 1\n{_branch_to(6)}", HaltCause.MISALIGNED_FETCH, 1),
    "not_taken_misaligned_branch_ok": (f"li a0, 1\n.word {encode_b(1, 0, 0, 6):#x}\nebreak",
                                       HaltCause.EBREAK, 2),
    "misaligned_lw": ("li t0, 0x202\nlw a0, 0(t0)", HaltCause.MISALIGNED_LOAD, 1),
    "misaligned_lh": ("li t0, 0x201\nlhu a0, 0(t0)", HaltCause.MISALIGNED_LOAD, 1),
    "misaligned_sw": ("li t0, 0x201\nsw a0, 0(t0)", HaltCause.MISALIGNED_STORE, 1),
    "misaligned_sh": ("li t0, 0x203\nsh a0, 0(t0)", HaltCause.MISALIGNED_STORE, 1),
    "bus_error_fetch": ("li t0, 0x4000\njr t0", HaltCause.BUS_ERROR_FETCH, 2),
    "bus_error_load": ("li t0, 0x4000\nlw a0, 0(t0)", HaltCause.BUS_ERROR_LOAD, 1),
    "bus_error_store": ("li t0, -4\nsb a0, 0(t0)", HaltCause.BUS_ERROR_STORE, 1),
}


@pytest.mark.parametrize("name", sorted(HALTS))
def test_halt_cause(name):
    source, cause, retired = HALTS[name]
    run, machine = lockstep(asm(source))
    assert run.outcome == "halt" and run.cause == cause
    assert run.retired == retired, "the halting instruction must not retire"
    assert machine.retired == retired
    if name == "ecall" or name == "ebreak":
        assert run.regs[10] == 1


def test_bus_error_fetch_past_ram():
    """Running off the end of RAM: the fetch at RAM size gets err."""
    image = asm(f"j {RAM - 4}").data
    image = image + bytes(RAM - 4 - len(image)) + bytes.fromhex("13000000")   # nop at the end
    run, _ = lockstep(image)
    assert run.cause == HaltCause.BUS_ERROR_FETCH and run.retired == 2


def test_halt_is_sticky_and_holds_bus_idle():
    dut = CoreWithRAM(RAM, asm("ebreak").data)

    async def bench(ctx):
        for _ in range(8):
            await ctx.tick()
        assert ctx.get(dut.halt) and ctx.get(dut.cause) == HaltCause.EBREAK
        for _ in range(20):
            await ctx.tick()
            assert ctx.get(dut.halt) and ctx.get(dut.cause) == HaltCause.EBREAK
            assert not ctx.get(dut.core.bus.cyc) and not ctx.get(dut.core.bus.stb)
            assert not ctx.get(dut.retire_valid)

    simulate(dut, bench)


def test_reset_address_and_validation():
    image = bytes(0x100) + asm("li a0, 7\nebreak", ).data
    run = run_amaranth(image, ram_size=RAM, reset_addr=0x100)
    assert run.cause == HaltCause.EBREAK and run.regs[10] == 7
    with pytest.raises(ValueError):
        RV32ICore(reset_addr=2)
    with pytest.raises(ValueError):
        CoreWithRAM(RAM, b"", tohost=3)


def test_tohost_store_is_captured_not_written():
    image = asm(f"li t0, {TOHOST}\nli a0, 0x55\nsw a0, 0(t0)\nebreak")
    run, _ = lockstep(image, tohost=TOHOST)
    assert run.outcome == "tohost" and run.tohost_value == 0x55 and run.retired == 4 - 1


# --- bus behaviour ------------------------------------------------------------------------------

def test_bus_signature_members():
    sig = BusSignature()
    assert {name for name in sig.members} == {"adr", "dat_w", "sel", "cyc", "stb", "we",
                                               "dat_r", "ack", "err"}
    assert Shape.cast(sig.members["adr"].shape).width == 30
    assert Shape.cast(sig.members["sel"].shape).width == 4
    assert sig.members["adr"].flow == wiring.Out and sig.members["ack"].flow == wiring.In
    assert BusSignature() == BusSignature() and BusSignature(16) != BusSignature()
    with pytest.raises(TypeError):
        BusSignature(addr_width=0)
    with pytest.raises(ValueError):
        BusRAM(6)
    with pytest.raises(ValueError):
        BusRAM(8, b"123456789")


def test_busram_wait_state_byte_lanes_and_err():
    ram = BusRAM(64, bytes(range(64)))

    async def access(ctx, adr, we=0, dat=0, sel=0b1111):
        ctx.set(ram.bus.adr, adr)
        ctx.set(ram.bus.we, we)
        ctx.set(ram.bus.dat_w, dat)
        ctx.set(ram.bus.sel, sel)
        ctx.set(ram.bus.cyc, 1)
        ctx.set(ram.bus.stb, 1)
        assert not ctx.get(ram.bus.ack) and not ctx.get(ram.bus.err)    # never combinational
        await ctx.tick()
        ack, err, dat_r = ctx.get(ram.bus.ack), ctx.get(ram.bus.err), ctx.get(ram.bus.dat_r)
        await ctx.tick()
        ctx.set(ram.bus.cyc, 0)
        ctx.set(ram.bus.stb, 0)
        return ack, err, dat_r

    async def bench(ctx):
        assert await access(ctx, 1) == (1, 0, 0x07060504)
        assert (await access(ctx, 1, we=1, dat=0xAABBCCDD, sel=0b0101))[:2] == (1, 0)
        assert await access(ctx, 1) == (1, 0, 0x07BB05DD)
        ack, err, _ = await access(ctx, 16)                          # first word past the end
        assert (ack, err) == (0, 1)
        ack, err, _ = await access(ctx, 1 << 29, we=1, dat=0)
        assert (ack, err) == (0, 1)
        assert await access(ctx, 0) == (1, 0, 0x03020100)           # not aliased by the write
        await ctx.tick()
        assert not ctx.get(ram.bus.ack) and not ctx.get(ram.bus.err)  # idle: no answer

    simulate(ram, bench)


def test_core_waits_for_slow_bus_and_start_cycle_is_idle():
    """A subordinate with several wait states: the core holds its request stable until ack."""

    class SlowRAM(wiring.Component):
        def __init__(self, image, waits):
            self.inner = BusRAM(RAM, image)
            self.waits = waits
            super().__init__({"bus": wiring.In(BusSignature())})

        def elaborate(self, platform):
            from amaranth import Module, Signal
            m = Module()
            m.submodules.inner = inner = self.inner
            count = Signal(8)
            gate = count == self.waits
            m.d.comb += [inner.bus.adr.eq(self.bus.adr), inner.bus.dat_w.eq(self.bus.dat_w),
                         inner.bus.sel.eq(self.bus.sel), inner.bus.we.eq(self.bus.we),
                         inner.bus.cyc.eq(self.bus.cyc & gate),
                         inner.bus.stb.eq(self.bus.stb & gate),
                         self.bus.dat_r.eq(inner.bus.dat_r), self.bus.ack.eq(inner.bus.ack),
                         self.bus.err.eq(inner.bus.err)]
            with m.If(self.bus.ack | self.bus.err | ~self.bus.stb):
                m.d.sync += count.eq(0)
            with m.Elif(~gate):
                m.d.sync += count.eq(count + 1)
            return m

    class Top(wiring.Component):
        def __init__(self):
            self.core = RV32ICore()
            self.ram = SlowRAM(asm("li a0, 9\nsw a0, 0x100(zero)\nlw a1, 0x100(zero)\n"
                                   "ebreak").data, 3)
            super().__init__({})

        def elaborate(self, platform):
            from amaranth import Module
            m = Module()
            m.submodules.core = self.core
            m.submodules.ram = self.ram
            wiring.connect(m, self.core.bus, self.ram.bus)
            return m

    top = Top()

    async def bench(ctx):
        assert not ctx.get(top.core.bus.stb)           # START: no request straight out of reset
        held = None
        for _ in range(200):
            await ctx.tick()
            bus = top.core.bus
            if ctx.get(bus.stb):
                now = (ctx.get(bus.adr), ctx.get(bus.we), ctx.get(bus.dat_w), ctx.get(bus.sel))
                if held is not None:
                    assert now == held, "request changed before it was acknowledged"
                held = None if ctx.get(bus.ack) else now
            if ctx.get(top.core.halt):
                break
        assert ctx.get(top.core.cause) == HaltCause.EBREAK
        assert ctx.get(top.core.regfile[11]) == 9

    simulate(top, bench)


# --- lockstep with the ISA model ------------------------------------------------------------

DATA_BASE = 0x200          # x2 points here; loads/stores reach [0x1c0, 0x240)
PROGRAM_LIMIT = 0x1C0

_R = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and"]
_I = ["addi", "slti", "sltiu", "xori", "ori", "andi"]
_SH = ["slli", "srli", "srai"]
_BR = ["beq", "bne", "blt", "bge", "bltu", "bgeu"]
_LD = {"lb": 1, "lh": 2, "lw": 4, "lbu": 1, "lhu": 2}
_ST = {"sb": 1, "sh": 2, "sw": 4}
_REGS = [0, 1, 3, 4, 5, 6, 7, 31]          # never x2 (the data pointer) as a destination
_SRC = _REGS + [2]


@st.composite
def programs(draw, max_len=24):
    n = draw(st.integers(2, max_len))
    lines = [f"li x2, {DATA_BASE}"]
    for r in (1, 3, 4, 5):
        lines.append(f"li x{r}, {draw(st.integers(-2**31, 2**31 - 1))}")
    misaligned_ok = draw(st.booleans())
    for i in range(n):
        kind = draw(st.sampled_from(["r", "r", "i", "i", "sh", "lui", "auipc", "ld", "ld", "st",
                                     "st", "br", "br", "jal", "jalr", "fence"]))
        rd = draw(st.sampled_from(_REGS))
        rs1 = draw(st.sampled_from(_SRC))
        rs2 = draw(st.sampled_from(_SRC))
        target = f"L{draw(st.integers(i + 1, n))}"        # forward only: the program ends
        lines.append(f"L{i}:")
        if kind == "r":
            lines.append(f"{draw(st.sampled_from(_R))} x{rd}, x{rs1}, x{rs2}")
        elif kind == "i":
            lines.append(f"{draw(st.sampled_from(_I))} x{rd}, x{rs1}, "
                         f"{draw(st.integers(-2048, 2047))}")
        elif kind == "sh":
            lines.append(f"{draw(st.sampled_from(_SH))} x{rd}, x{rs1}, {draw(st.integers(0, 31))}")
        elif kind in ("lui", "auipc"):
            lines.append(f"{kind} x{rd}, {draw(st.integers(0, 0xFFFFF))}")
        elif kind in ("ld", "st"):
            name = draw(st.sampled_from(sorted(_LD if kind == "ld" else _ST)))
            size = (_LD if kind == "ld" else _ST)[name]
            offset = draw(st.integers(-64 // size, 63 // size)) * size
            if misaligned_ok and draw(st.integers(0, 15)) == 0:
                offset += 1
            if kind == "ld":
                lines.append(f"{name} x{rd}, {offset}(x2)")
            else:
                lines.append(f"{name} x{rs2}, {offset}(x2)")
        elif kind == "br":
            lines.append(f"{draw(st.sampled_from(_BR))} x{rs1}, x{rs2}, {target}")
        elif kind == "jal":
            lines.append(f"jal x{rd}, {target}")
        elif kind == "jalr":
            lines.append(f"jalr x{rd}, {target}+{draw(st.sampled_from([0, 0, 1, 2]))}(x0)")
        else:
            lines.append("fence")
    lines.append(f"L{n}:")
    lines.append(draw(st.sampled_from(["ebreak", "ecall"])))
    image = assemble_text("\n".join(lines))
    assert len(image.data) <= PROGRAM_LIMIT
    seed = draw(st.integers(0, 2**32 - 1))
    data = random.Random(seed).randbytes(0x80)
    return image.data + bytes(0x1C0 - len(image.data)) + data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_lockstep_random(image):
    run, machine = lockstep(image)
    assert run.outcome == "halt"


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(max_len=80))
def test_lockstep_random_campaign(image):
    run, machine = lockstep(image)
    assert run.outcome == "halt"


def test_lockstep_loop_program():
    """Backward branches and a memory copy loop, compared at every retirement."""
    source = """
        li t0, 0x200          # src
        li t1, 0x280          # dst
        li t2, 16             # words
        li a0, 0x01020304
    fill:
        sw a0, 0(t0)
        slli a1, a0, 3
        xor a0, a0, a1
        addi t0, t0, 4
        addi t2, t2, -1
        bnez t2, fill
        li t0, 0x200
        li t2, 64
    copy:
        lbu a1, 0(t0)
        sb a1, 0x80(t0)
        addi t0, t0, 1
        addi t2, t2, -1
        bnez t2, copy
        ebreak
    """
    run, machine = lockstep(asm(source))
    assert run.cause == HaltCause.EBREAK
    assert machine.mem[0x200:0x240] == machine.mem[0x280:0x2C0] != bytes(64)


# --- clock enable (the SoC freezes a core with EnableInserter) ----------------------------------

@pytest.mark.parametrize("frozen", ["core_and_ram", "core_only"])
def test_freeze_with_enable_inserter(frozen):
    """Random enable patterns change timing only: the retirement trace equals the ISA model's.
    With only the core frozen, BusRAM's answers that arrive while it is frozen are repeated
    (the request is held), which is harmless for a RAM."""
    from amaranth import Module
    from amaranth.hdl import EnableInserter

    image = asm("""
        li t0, 0x200
        li t2, 12
        li a0, 0x01020304
    1:  sw a0, 0(t0)
        lh a1, 2(t0)
        srai a0, a0, 3
        add a0, a0, a1
        sb a0, 0x41(t0)
        addi t0, t0, 4
        addi t2, t2, -1
        bnez t2, 1b
        ebreak
    """).data

    class Top(wiring.Component):
        def __init__(self):
            self.core = RV32ICore()
            self.ram = BusRAM(RAM, image)
            super().__init__({"en": wiring.In(1)})

        def elaborate(self, platform):
            m = Module()
            m.submodules.core = EnableInserter(self.en)(self.core)
            m.submodules.ram = (EnableInserter(self.en)(self.ram) if frozen == "core_and_ram"
                                else self.ram)
            wiring.connect(m, self.core.bus, self.ram.bus)
            return m

    top = Top()
    machine = Machine(ram_size=RAM, image=image)
    rng = random.Random(5)
    seen = []

    async def bench(ctx):
        core = top.core
        for _ in range(5000):
            en = rng.random() < 0.6
            ctx.set(top.en, en)
            if en and ctx.get(core.retire_valid):
                seen.append((ctx.get(core.retire_pc), ctx.get(core.retire_insn),
                             ctx.get(core.retire_rd), ctx.get(core.retire_value)))
            if ctx.get(core.halt):
                break
            await ctx.tick()
        assert ctx.get(core.halt) and ctx.get(core.cause) == HaltCause.EBREAK
        for i in range(1, 32):
            assert ctx.get(core.regfile[i]) == machine.regs[i]
        words = [ctx.get(top.ram.data[i]) for i in range(RAM // 4)]
        assert b"".join(w.to_bytes(4, "little") for w in words) == bytes(machine.mem)

    expected = []
    while (r := machine.step()) is not None:
        expected.append(tuple(r))
    simulate(top, bench)
    assert seen == expected and len(seen) > 80


@pytest.mark.parametrize("when", [3, 8, 13, 22, 27])
def test_reset_mid_run_restarts_cleanly(when):
    """Reset the core alone (the RAM keeps running) at different points, including in the middle
    of a fetch or a data access: the answer still pending from the RAM must not be taken for the
    first fetch (START cycle), and the program re-runs from the reset address."""
    from amaranth import Module
    from amaranth.hdl import ResetInserter

    image = asm("li a0, 5\nsw a0, 0x100(zero)\nlw a1, 0x100(zero)\naddi a2, a1, 1\nebreak").data

    class Top(wiring.Component):
        def __init__(self):
            self.core = RV32ICore()
            self.ram = BusRAM(RAM, image)
            super().__init__({"core_rst": wiring.In(1)})

        def elaborate(self, platform):
            m = Module()
            m.submodules.core = ResetInserter(self.core_rst)(self.core)
            m.submodules.ram = self.ram
            wiring.connect(m, self.core.bus, self.ram.bus)
            return m

    top = Top()
    words = asm("li a0, 5\nsw a0, 0x100(zero)\nlw a1, 0x100(zero)\naddi a2, a1, 1\nebreak").words

    async def bench(ctx):
        for _ in range(when):
            await ctx.tick()
        ctx.set(top.core_rst, 1)
        await ctx.tick()
        ctx.set(top.core_rst, 0)
        trace = []
        for _ in range(100):
            if ctx.get(top.core.retire_valid):
                trace.append((ctx.get(top.core.retire_pc), ctx.get(top.core.retire_insn)))
            if ctx.get(top.core.halt):
                break
            await ctx.tick()
        assert trace == [(4 * i, w) for i, w in enumerate(words[:4])]
        assert ctx.get(top.core.cause) == HaltCause.EBREAK
        assert [ctx.get(top.core.regfile[i]) for i in (10, 11, 12)] == [5, 5, 6]

    simulate(top, bench)
