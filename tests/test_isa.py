"""Tests for the RV32I reference interpreter (guillotine.sim.isa)."""

import shutil
import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guillotine import GuillotineError
from guillotine.firmware.asm import Program, assemble_text, parse_register
from guillotine.hdl.cpu.causes import HaltCause
from guillotine.sim.isa import Machine, Retirement

M = 0xFFFF_FFFF
BASE = 0x1000          # RAM [0x1000, 0x2000) in the directed tests; code at 0x1000
DATA = 0x1800


def machine(text, regs=None, **kwargs):
    img = assemble_text(text, base=BASE)
    m = Machine(ram_size=0x1000, ram_base=BASE, reset_pc=BASE, image=img, **kwargs)
    for name, value in (regs or {}).items():
        m.regs[parse_register(name)] = value & M
    return m


def signed(x):
    return x - (1 << 32) if x & 0x8000_0000 else x


# ---------------------------------------------------------------------------------------------
# One directed case per instruction: (text, registers before, registers after, pc after - pc)

DIRECTED = [
    ("add a0, a1, a2", {"a1": 5, "a2": 7}, {"a0": 12}, 4),
    ("add a0, a1, a2", {"a1": M, "a2": 2}, {"a0": 1}, 4),
    ("sub a0, a1, a2", {"a1": 3, "a2": 5}, {"a0": M - 1}, 4),
    ("sll a0, a1, a2", {"a1": 3, "a2": 33}, {"a0": 6}, 4),              # low 5 bits of rs2
    ("slt a0, a1, a2", {"a1": -1, "a2": 1}, {"a0": 1}, 4),
    ("slt a0, a1, a2", {"a1": 1, "a2": -1}, {"a0": 0}, 4),
    ("sltu a0, a1, a2", {"a1": 1, "a2": -1}, {"a0": 1}, 4),
    ("sltu a0, a1, a2", {"a1": -1, "a2": 1}, {"a0": 0}, 4),
    ("xor a0, a1, a2", {"a1": 0xF0F0, "a2": 0xFF00}, {"a0": 0x0FF0}, 4),
    ("srl a0, a1, a2", {"a1": 0x8000_0000, "a2": 36}, {"a0": 0x0800_0000}, 4),
    ("sra a0, a1, a2", {"a1": 0x8000_0000, "a2": 4}, {"a0": 0xF800_0000}, 4),
    ("sra a0, a1, a2", {"a1": 0x4000_0000, "a2": 4}, {"a0": 0x0400_0000}, 4),
    ("or a0, a1, a2", {"a1": 0xF0, "a2": 0x0F}, {"a0": 0xFF}, 4),
    ("and a0, a1, a2", {"a1": 0xF0, "a2": 0x3C}, {"a0": 0x30}, 4),
    ("addi a0, a1, -1", {"a1": 0}, {"a0": M}, 4),
    ("addi a0, a1, 2047", {"a1": 1}, {"a0": 2048}, 4),
    ("slti a0, a1, -1", {"a1": -2}, {"a0": 1}, 4),
    ("slti a0, a1, -1", {"a1": 0}, {"a0": 0}, 4),
    ("sltiu a0, a1, -1", {"a1": 5}, {"a0": 1}, 4),                       # imm is 0xffffffff
    ("sltiu a0, a1, 1", {"a1": 0}, {"a0": 1}, 4),
    ("xori a0, a1, -1", {"a1": 0x1234}, {"a0": M ^ 0x1234}, 4),
    ("ori a0, a1, -2048", {"a1": 1}, {"a0": 0xFFFF_F801}, 4),
    ("andi a0, a1, -16", {"a1": 0x1234_5678}, {"a0": 0x1234_5670}, 4),
    ("slli a0, a1, 31", {"a1": 3}, {"a0": 0x8000_0000}, 4),
    ("srli a0, a1, 31", {"a1": 0x8000_0000}, {"a0": 1}, 4),
    ("srai a0, a1, 31", {"a1": 0x8000_0000}, {"a0": M}, 4),
    ("lui a0, 0xfffff", {}, {"a0": 0xFFFF_F000}, 4),
    ("auipc a0, 0x1", {}, {"a0": BASE + 0x1000}, 4),
    ("auipc a0, 0xfffff", {}, {"a0": BASE - 0x1000}, 4),
    ("jal ra, .+16", {}, {"ra": BASE + 4}, 16),
    ("jal zero, .-4", {}, {}, -4),
    ("jalr ra, 8(a1)", {"a1": BASE + 0x100}, {"ra": BASE + 4}, 0x108),
    ("jalr ra, 1(a1)", {"a1": BASE + 0x100}, {"ra": BASE + 4}, 0x100),   # bit 0 cleared
    ("jalr a1, -4(a1)", {"a1": BASE + 0x100}, {"a1": BASE + 4}, 0xFC),   # rd == rs1
    ("beq a0, a1, .+8", {"a0": 3, "a1": 3}, {}, 8),
    ("beq a0, a1, .+8", {"a0": 3, "a1": 4}, {}, 4),
    ("bne a0, a1, .-8", {"a0": 3, "a1": 4}, {}, -8),
    ("bne a0, a1, .-8", {"a0": 3, "a1": 3}, {}, 4),
    ("blt a0, a1, .+12", {"a0": -1, "a1": 0}, {}, 12),
    ("blt a0, a1, .+12", {"a0": 0, "a1": -1}, {}, 4),
    ("bge a0, a1, .+12", {"a0": 0, "a1": -1}, {}, 12),
    ("bge a0, a1, .+12", {"a0": -1, "a1": 0}, {}, 4),
    ("bge a0, a1, .+12", {"a0": 5, "a1": 5}, {}, 12),
    ("bltu a0, a1, .+12", {"a0": 0, "a1": -1}, {}, 12),
    ("bltu a0, a1, .+12", {"a0": -1, "a1": 0}, {}, 4),
    ("bgeu a0, a1, .+12", {"a0": -1, "a1": 0}, {}, 12),
    ("bgeu a0, a1, .+12", {"a0": 0, "a1": -1}, {}, 4),
    ("fence", {}, {}, 4),
    ("fence.tso", {}, {}, 4),
]


@pytest.mark.parametrize("text, before, after, delta", DIRECTED,
                         ids=[f"{t} {b}" for t, b, _, _ in DIRECTED])
def test_instruction(text, before, after, delta):
    m = machine(text, before)
    expected = list(m.regs)
    for name, value in after.items():
        expected[parse_register(name)] = value
    r = m.step()
    assert m.regs == expected
    assert m.pc == BASE + delta
    assert not m.halted and m.cause == HaltCause.NONE and m.retired == 1
    rd = parse_register(next(iter(after))) if after else 0
    assert r == Retirement(BASE, assemble_text(text, base=BASE).words[0], rd, expected[rd] if rd else 0)


LOADS = [
    ("lb", 0, 0xFFFF_FF80), ("lb", 1, 0xFFFF_FFFF), ("lb", 2, 0x34), ("lbu", 0, 0x80),
    ("lbu", 1, 0xFF), ("lh", 0, 0xFFFF_FF80), ("lh", 2, 0x1234), ("lhu", 0, 0xFF80),
    ("lhu", 2, 0x1234), ("lw", 0, 0x1234_FF80), ("lw", 4, 0xCAFE_F00D),
]


@pytest.mark.parametrize("op, offset, value", LOADS)
def test_loads(op, offset, value):
    m = machine(f"{op} a0, {offset - 4}(a1)", {"a1": DATA + 4})
    m.write(DATA, 0x1234_FF80)
    m.write(DATA + 4, 0xCAFE_F00D)
    r = m.step()
    assert m.regs[10] == value
    assert r.rd == 10 and r.value == value


@pytest.mark.parametrize("op, offset, size", [("sb", 3, 1), ("sh", 2, 2), ("sw", 0, 4)])
def test_stores(op, offset, size):
    m = machine(f"{op} a0, {offset + 16}(a1)", {"a0": 0x89AB_CDEF, "a1": DATA - 16})
    m.write(DATA, 0x1111_1111)
    r = m.step()
    assert r.rd == 0 and r.value == 0
    expected = bytearray((0x1111_1111).to_bytes(4, "little"))
    expected[offset:offset + size] = (0x89AB_CDEF).to_bytes(4, "little")[:size]
    assert m.mem[DATA - BASE:DATA - BASE + 4] == expected
    assert m.read(DATA + 4) == 0


def test_x0_is_never_written():
    m = machine("addi zero, zero, 5\nlw zero, 0(a1)\njal zero, .+4\nlui x0, 1", {"a1": DATA})
    m.write(DATA, 0xFFFF_FFFF)
    for _ in range(4):
        r = m.step()
        assert r.rd == 0 and r.value == 0 and m.regs[0] == 0
    m = machine("add a0, zero, zero")
    m.regs[0] = 7                 # even a corrupted x0 reads as zero
    m.regs[10] = 3
    m.step()
    assert m.regs[10] == 0 and m.regs[0] == 0


# ---------------------------------------------------------------------------------------------
# Halts

HALTS = [
    # text, registers, cause
    (".word 0", {}, HaltCause.ILLEGAL),
    (".word 0xffffffff", {}, HaltCause.ILLEGAL),
    (".word 0x02b50533", {}, HaltCause.ILLEGAL),              # mul
    (".word 0x0000100f", {}, HaltCause.ILLEGAL),              # fence.i
    (".word 0x34011073", {}, HaltCause.ILLEGAL),              # csrrw
    ("ecall", {}, HaltCause.ECALL),
    ("ebreak", {}, HaltCause.EBREAK),
    ("lw a0, 2(a1)", {"a1": DATA}, HaltCause.MISALIGNED_LOAD),
    ("lh a0, 1(a1)", {"a1": DATA}, HaltCause.MISALIGNED_LOAD),
    ("lhu a0, 3(a1)", {"a1": DATA}, HaltCause.MISALIGNED_LOAD),
    ("sw a0, 1(a1)", {"a1": DATA}, HaltCause.MISALIGNED_STORE),
    ("sh a0, -1(a1)", {"a1": DATA}, HaltCause.MISALIGNED_STORE),
    ("lw a0, 0(a1)", {"a1": 0x2000}, HaltCause.BUS_ERROR_LOAD),     # first byte past RAM
    ("lb a0, -1(a1)", {"a1": BASE}, HaltCause.BUS_ERROR_LOAD),
    ("lw a0, 0(a1)", {"a1": 0xFFFF_FFFC}, HaltCause.BUS_ERROR_LOAD),
    ("sw a0, 0(a1)", {"a1": 0x2000}, HaltCause.BUS_ERROR_STORE),
    ("sb a0, 0(a1)", {"a1": 0}, HaltCause.BUS_ERROR_STORE),
    ("jal a0, .+2", {}, HaltCause.MISALIGNED_FETCH),
    ("beq zero, zero, .+6", {}, HaltCause.MISALIGNED_FETCH),
    ("jalr a1, 2(a1)", {"a1": BASE}, HaltCause.MISALIGNED_FETCH),
    ("jalr a0, 0(a1)", {"a1": BASE + 3}, HaltCause.MISALIGNED_FETCH),
]


@pytest.mark.parametrize("text, before, cause", HALTS, ids=[f"{t} {c.name}" for t, _, c in HALTS])
def test_halt_causes(text, before, cause):
    m = machine(text, before)
    regs = list(m.regs)
    assert m.step() is None
    assert m.halted and m.cause == cause
    assert m.pc == BASE and m.retired == 0 and m.regs == regs      # not retired, no write
    assert m.step() is None and m.run(10) == 0 and m.cause == cause


def test_untaken_branch_to_misaligned_target_does_not_halt():
    m = machine("bne zero, zero, .+6\nebreak")
    assert m.step() is not None and m.pc == BASE + 4
    assert m.step() is None and m.cause == HaltCause.EBREAK


def test_bus_error_on_fetch_outside_ram():
    m = machine("j 0x2000")              # just past the end of RAM
    assert m.step() == Retirement(BASE, m.read(BASE), 0, 0)
    assert m.pc == 0x2000
    assert m.step() is None and m.cause == HaltCause.BUS_ERROR_FETCH and m.retired == 1
    m = machine("nop")                   # run off the end of RAM
    m.pc = 0x1FFC
    m.write(0x1FFC, 0x13)
    assert m.run(5) == 1 and m.cause == HaltCause.BUS_ERROR_FETCH and m.pc == 0x2000


# ---------------------------------------------------------------------------------------------
# MMIO hooks

def test_store_hook_swallows_tohost_and_sees_size_and_value():
    seen = []

    def store_hook(addr, value, size):
        seen.append((addr, value, size))
        return addr >= 0x8000_0000

    m = machine("sw a0, 0(a1)\nsb a0, 1(a1)\nsh a0, 0(a2)\nebreak",
                {"a0": 0x1234_5678, "a1": 0x8000_0000, "a2": DATA}, store_hook=store_hook)
    assert m.run(10) == 3 and m.cause == HaltCause.EBREAK
    assert seen == [(0x8000_0000, 0x1234_5678, 4), (0x8000_0001, 0x78, 1), (DATA, 0x5678, 2)]
    assert m.read(DATA) == 0x5678         # hook returned False: the store reached RAM


def test_load_hook_models_mmio_and_is_sign_extended():
    def load_hook(addr, size):
        if addr == 0x4000_0000:
            return 0x1FF80                # wider than the access: masked to the size
        return None

    m = machine("lb a0, 0(a1)\nlhu a2, 0(a1)\nlw a3, 0(a4)\nlw a5, 0(a6)",
                {"a1": 0x4000_0000, "a4": DATA, "a6": 0x5000_0000}, load_hook=load_hook)
    m.write(DATA, 0xABCD)
    assert m.run(10) == 3
    assert m.regs[10] == 0xFFFF_FF80 and m.regs[12] == 0xFF80 and m.regs[13] == 0xABCD
    assert m.cause == HaltCause.BUS_ERROR_LOAD  # hook returned None outside RAM


def test_alignment_is_checked_before_the_hooks():
    calls = []
    m = machine("lw a0, 2(a1)", {"a1": 0x4000_0000},
                load_hook=lambda a, s: calls.append(a) or 0)
    assert m.step() is None and m.cause == HaltCause.MISALIGNED_LOAD and calls == []
    m = machine("sh a0, 1(a1)", {"a1": 0x4000_0000},
                store_hook=lambda a, v, s: calls.append(a) or True)
    assert m.step() is None and m.cause == HaltCause.MISALIGNED_STORE and calls == []


def test_fetch_hook_models_a_rom_outside_ram():
    rom = assemble_text("li a0, 0x10001000\nlw a1, 0(a0)\nebreak", base=0).words
    m = Machine(ram_size=0x2000, ram_base=0x1000_0000, reset_pc=0,
                fetch_hook=lambda a: rom[a // 4] if a < 4 * len(rom) else None)
    m.write(0x1000_1000, 1234)
    assert m.run(10) == 2 and m.regs[11] == 1234 and m.cause == HaltCause.EBREAK
    m = Machine(ram_size=0x100, reset_pc=0x200, fetch_hook=lambda a: None)
    assert m.step() is None and m.cause == HaltCause.BUS_ERROR_FETCH


# ---------------------------------------------------------------------------------------------
# Construction, loading, run()

def test_constructor_and_image_loading():
    p = Program(base=0x2000_0010)
    p.li("a0", 7)
    p.ebreak()
    img = p.assemble()
    m = Machine(ram_size=256, ram_base=0x2000_0000, reset_pc=0x2000_0010, image=img)
    assert m.read(0x2000_0010) == img.words[0] and m.read(0x2000_0000) == 0
    assert m.run(10) == 1 and m.regs[10] == 7 and m.retired == 1
    m = Machine(image=img.data)             # bytes load at ram_base
    assert m.read(0) == img.words[0] and len(m.mem) == 65536
    assert m.regs == [0] * 32 and m.pc == 0 and not m.halted and m.cause == HaltCause.NONE
    with pytest.raises(GuillotineError, match="does not fit in RAM"):
        Machine(ram_size=4, image=img.data)
    with pytest.raises(ValueError, match="multiple of 4"):
        Machine(ram_size=6)
    with pytest.raises(ValueError, match="not 4-byte aligned"):
        Machine(reset_pc=2)
    with pytest.raises(TypeError):
        Machine(ram_size="big")


def test_run_stops_at_max_steps_and_counts():
    m = machine("loop: addi a0, a0, 1\nj loop")
    assert m.run(101) == 101 and m.retired == 101 and m.regs[10] == 51
    assert m.run(0) == 0
    assert m.run(3) == 3 and m.retired == 104


def test_fetch_reads_the_current_memory_self_modifying_code():
    m = machine("sw a1, 4(a0)\nnop\nebreak", {"a0": BASE, "a1": 0x00500593})   # addi a1, zero, 5
    assert m.run(10) == 2 and m.regs[11] == 5 and m.cause == HaltCause.EBREAK


# ---------------------------------------------------------------------------------------------
# Properties

@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.integers(-(1 << 31), (1 << 32) - 1), min_size=1, max_size=100),
       rd=st.sampled_from(["a0", "t6", "s11", "ra"]))
def test_li_loads_any_32_bit_value(values, rd):
    p = Program()
    p.li("gp", 0x1000)
    for i, v in enumerate(values):
        p.li(rd, v)
        p.sw(rd, 4 * i, "gp")
    p.ebreak()
    m = Machine(ram_size=0x2000, image=p.assemble())
    m.run(10_000)
    assert m.cause == HaltCause.EBREAK
    assert [m.read(0x1000 + 4 * i) for i in range(len(values))] == [v & M for v in values]


REF_R = {
    "add": lambda a, b: (a + b) & M,
    "sub": lambda a, b: (a - b) & M,
    "sll": lambda a, b: (a * 2 ** (b % 32)) % 2**32,
    "slt": lambda a, b: int(signed(a) < signed(b)),
    "sltu": lambda a, b: int(a < b),
    "xor": lambda a, b: a ^ b,
    "srl": lambda a, b: a // 2 ** (b % 32),
    "sra": lambda a, b: (signed(a) // 2 ** (b % 32)) & M,
    "or": lambda a, b: a | b,
    "and": lambda a, b: a & b,
}
REF_B = {
    "beq": lambda a, b: a == b, "bne": lambda a, b: a != b,
    "blt": lambda a, b: signed(a) < signed(b), "bge": lambda a, b: signed(a) >= signed(b),
    "bltu": lambda a, b: a < b, "bgeu": lambda a, b: a >= b,
}
word32 = st.one_of(st.integers(0, M), st.sampled_from([0, 1, 31, 32, 0x7FFF_FFFF, 0x8000_0000, M]))


@settings(max_examples=150, deadline=None)
@given(a=word32, b=word32, imm=st.integers(-2048, 2047), shamt=st.integers(0, 31))
def test_alu_and_branches_against_reference(a, b, imm, shamt):
    for op, ref in REF_R.items():
        m = machine(f"{op} a0, a1, a2", {"a1": a, "a2": b})
        m.step()
        assert m.regs[10] == ref(a, b), op
        if op in ("sll", "srl", "sra"):
            m = machine(f"{op}i a0, a1, {shamt}", {"a1": a})
            m.step()
            assert m.regs[10] == ref(a, shamt), op + "i"
        elif op != "sub":
            name = {"sltu": "sltiu"}.get(op, op + "i")
            m = machine(f"{name} a0, a1, {imm}", {"a1": a})
            m.step()
            assert m.regs[10] == ref(a, imm & M), name
    for op, ref in REF_B.items():
        m = machine(f"{op} a1, a2, .+64", {"a1": a, "a2": b})
        m.step()
        assert m.pc == BASE + (64 if ref(a, b) else 4), op


# ---------------------------------------------------------------------------------------------
# Whole programs

def test_dsl_program_memcpy_and_sum():
    p = Program()
    p.la("a0", "src")
    p.la("a1", "dst")
    p.li("a2", 8)                 # words
    p.li("a3", 0)                 # sum
    p.label("loop")
    p.lw("t0", 0, "a0")
    p.sw("t0", 0, "a1")
    p.add("a3", "a3", "t0")
    p.addi("a0", "a0", 4)
    p.addi("a1", "a1", 4)
    p.addi("a2", "a2", -1)
    p.bnez("a2", "loop")
    p.call("double")
    p.ebreak()
    p.label("double")
    p.slli("a3", "a3", 1)
    p.ret()
    p.align(4)
    p.label("src")
    p.word(*range(1, 9))
    p.label("dst")
    p.word(*[0] * 8)
    img = p.assemble()
    m = Machine(image=img)
    m.run(1000)
    assert m.cause == HaltCause.EBREAK
    assert m.regs[13] == 2 * sum(range(1, 9))
    dst = img.symbols["dst"]
    assert [m.read(dst + 4 * i) for i in range(8)] == list(range(1, 9))


GCC = shutil.which("riscv64-unknown-elf-gcc")
C_PROGRAM = r"""
static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static void sort(unsigned *a, int n) {
  for (int i = 0; i < n; i++) for (int j = 0; j + 1 < n - i; j++)
    if (a[j] > a[j + 1]) { unsigned t = a[j]; a[j] = a[j + 1]; a[j + 1] = t; }
}
unsigned data[16] = {9, 3, 0xffffffff, 7, 1, 0x80000000, 5, 2, 8, 6, 4, 0, 13, 11, 12, 10};
#define TOHOST (*(volatile unsigned *)0x80000000)
int main(void) {
  sort(data, 16);
  unsigned h = 0;
  for (int i = 0; i < 16; i++) h = (h << 5) ^ (h >> 27) ^ data[i];
  TOHOST = h;
  TOHOST = fib(15);
  signed char sc = (signed char)data[15]; short ss = (short)data[14];
  TOHOST = (unsigned)(sc >> 2) + (unsigned)(ss >> 3);
  return 0;
}
"""
START = """
  .globl _start
_start:
  li sp, 0x8000
  call main
  ebreak
"""


@pytest.mark.skipif(not GCC, reason="riscv64-unknown-elf-gcc not installed "
                                    "(Debian: gcc-riscv64-unknown-elf)")
def test_gcc_compiled_program(tmp_path):
    (tmp_path / "c.c").write_text(C_PROGRAM)
    (tmp_path / "start.s").write_text(START)
    elf = tmp_path / "c.elf"
    subprocess.run([GCC, "-march=rv32i", "-mabi=ilp32", "-O2", "-ffreestanding", "-nostdlib",
                    "-Wl,-Ttext=0", "-Wl,--no-relax", "-Wl,-e,_start", "-o", str(elf),
                    str(tmp_path / "start.s"), str(tmp_path / "c.c")], check=True)
    subprocess.run([shutil.which("riscv64-unknown-elf-objcopy"), "-O", "binary", str(elf),
                    str(tmp_path / "c.bin")], check=True)
    nm = subprocess.run([shutil.which("riscv64-unknown-elf-nm"), str(elf)], check=True,
                        capture_output=True, text=True).stdout
    start = int(next(line.split()[0] for line in nm.splitlines() if line.endswith(" _start")), 16)
    out = []
    m = Machine(image=(tmp_path / "c.bin").read_bytes(), reset_pc=start,
                store_hook=lambda a, v, s: a == 0x8000_0000 and (out.append(v) or True))
    m.run(1_000_000)
    assert m.cause == HaltCause.EBREAK
    h = 0
    for x in sorted([9, 3, M, 7, 1, 0x8000_0000, 5, 2, 8, 6, 4, 0, 13, 11, 12, 10]):
        h = ((h << 5) & M) ^ (h >> 27) ^ x
    assert out == [h, 610, M]


def test_speed_is_enough_for_lockstep_campaigns():
    img = assemble_text("loop: addi a0, a0, 1\nlw a1, 0x400(zero)\nsw a1, 0x404(zero)\n"
                        "bne a0, zero, loop")
    m = Machine(ram_size=0x1000, image=img)
    t = time.perf_counter()
    assert m.run(100_000) == 100_000
    assert time.perf_counter() - t < 5.0          # ~1M instructions/s on a laptop
