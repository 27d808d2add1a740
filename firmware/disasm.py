"""RV32I decoder and disassembler.

:func:`decode` is the single definition of which 32-bit words are legal RV32I instructions in
this project; the assembler's listing, the ISA reference model (:mod:`guillotine.sim.isa`) and the
core's tests all rely on it. :func:`disassemble` renders one word in GNU-like syntax that
:func:`guillotine.firmware.asm.assemble_text` accepts again, so for *every* 32-bit word ``w``::

    assemble_text(disassemble(w, pc), base=pc).words == [w]

Legality rules (the RV32I base ISA, nothing else):

* the low two bits must be ``11`` (no compressed instructions);
* OP (``0110011``): funct7 ``0000000`` for all ten operations, ``0100000`` only for sub/sra;
* OP-IMM (``0010011``): slli needs funct7 ``0000000``, srli/srai ``0000000``/``0100000``;
* LOAD funct3 in {0, 1, 2, 4, 5}; STORE funct3 in {0, 1, 2}; BRANCH funct3 not in {2, 3};
* JALR needs funct3 ``000``;
* MISC-MEM (``0001111``) with funct3 ``000`` is ``fence`` (fm/rs1/rd are ignored, as the spec
  asks); fence.i (funct3 ``001``, Zifencei) is *not* part of RV32I and is illegal;
* SYSTEM (``1110011``): only exactly ``0x00000073`` (ecall) and ``0x00100073`` (ebreak);
* every other major opcode is illegal.
"""

from typing import NamedTuple

from guillotine import GuillotineError

__all__ = ["ABI_NAMES", "Insn", "decode", "disassemble", "disassemble_image", "fence_set_name"]

#: ABI names of x0..x31, as binutils prints them.
ABI_NAMES = (
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
    "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
    "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
    "t3", "t4", "t5", "t6",
)

_MASK = 0xFFFF_FFFF

_OP = {(0, 0x00): "add", (0, 0x20): "sub", (1, 0): "sll", (2, 0): "slt", (3, 0): "sltu",
       (4, 0): "xor", (5, 0): "srl", (5, 0x20): "sra", (6, 0): "or", (7, 0): "and"}
_OP_IMM = {0: "addi", 2: "slti", 3: "sltiu", 4: "xori", 6: "ori", 7: "andi"}
_LOAD = {0: "lb", 1: "lh", 2: "lw", 4: "lbu", 5: "lhu"}
_STORE = {0: "sb", 1: "sh", 2: "sw"}
_BRANCH = {0: "beq", 1: "bne", 4: "blt", 5: "bge", 6: "bltu", 7: "bgeu"}

R_TYPE = frozenset(_OP.values())
I_ALU = frozenset(_OP_IMM.values()) | {"slli", "srli", "srai"}
LOADS = frozenset(_LOAD.values())
STORES = frozenset(_STORE.values())
BRANCHES = frozenset(_BRANCH.values())


class Insn(NamedTuple):
    """A decoded RV32I instruction.

    Fields not used by the format are 0. ``imm`` is the sign-extended immediate (byte offset for
    branches and jal), the shift amount for slli/srli/srai, the 20-bit field for lui/auipc, and
    the 12-bit ``fm:pred:succ`` field for fence.
    """
    mnemonic: str
    rd: int
    rs1: int
    rs2: int
    imm: int


def _sext(value, bits):
    sign = 1 << (bits - 1)
    return (value & (sign - 1)) - (value & sign)


def decode(word: int):
    """Decode a 32-bit word into an :class:`Insn`, or return ``None`` if it is not legal RV32I."""
    if not isinstance(word, int) or not 0 <= word <= _MASK:
        raise ValueError(f"instruction word must be an integer in 0..0xffffffff, not {word!r}")
    op = word & 0x7F
    rd = (word >> 7) & 31
    f3 = (word >> 12) & 7
    rs1 = (word >> 15) & 31
    rs2 = (word >> 20) & 31
    f7 = word >> 25
    if op == 0x33:
        name = _OP.get((f3, f7))
        return Insn(name, rd, rs1, rs2, 0) if name else None
    if op == 0x13:
        if f3 == 1:
            return Insn("slli", rd, rs1, 0, rs2) if f7 == 0 else None
        if f3 == 5:
            if f7 == 0:
                return Insn("srli", rd, rs1, 0, rs2)
            if f7 == 0x20:
                return Insn("srai", rd, rs1, 0, rs2)
            return None
        return Insn(_OP_IMM[f3], rd, rs1, 0, _sext(word >> 20, 12))
    if op == 0x03:
        name = _LOAD.get(f3)
        return Insn(name, rd, rs1, 0, _sext(word >> 20, 12)) if name else None
    if op == 0x23:
        name = _STORE.get(f3)
        imm = _sext(((word >> 25) << 5) | rd, 12)
        return Insn(name, 0, rs1, rs2, imm) if name else None
    if op == 0x63:
        name = _BRANCH.get(f3)
        if not name:
            return None
        imm = (((word >> 31) & 1) << 12 | ((word >> 7) & 1) << 11
               | ((word >> 25) & 0x3F) << 5 | ((word >> 8) & 0xF) << 1)
        return Insn(name, 0, rs1, rs2, _sext(imm, 13))
    if op == 0x37:
        return Insn("lui", rd, 0, 0, word >> 12)
    if op == 0x17:
        return Insn("auipc", rd, 0, 0, word >> 12)
    if op == 0x6F:
        imm = (((word >> 31) & 1) << 20 | ((word >> 12) & 0xFF) << 12
               | ((word >> 20) & 1) << 11 | ((word >> 21) & 0x3FF) << 1)
        return Insn("jal", rd, 0, 0, _sext(imm, 21))
    if op == 0x67:
        return Insn("jalr", rd, rs1, 0, _sext(word >> 20, 12)) if f3 == 0 else None
    if op == 0x0F:
        return Insn("fence", rd, rs1, 0, word >> 20) if f3 == 0 else None
    if word == 0x0000_0073:
        return Insn("ecall", 0, 0, 0, 0)
    if word == 0x0010_0073:
        return Insn("ebreak", 0, 0, 0, 0)
    return None


def fence_set_name(bits: int) -> str:
    """Render a fence predecessor/successor set (``i=8 o=4 r=2 w=1``) as GNU does: ``iorw``."""
    name = "".join(ch for ch, bit in zip("iorw", (8, 4, 2, 1)) if bits & bit)
    return name or "0"


def disassemble(word: int, pc: int = 0) -> str:
    """Disassemble one instruction word at address ``pc`` (GNU-like, without aliases).

    Branch and jal targets are printed as absolute hex addresses. An illegal word becomes
    ``.word 0x........  # illegal`` (a fence with non-zero reserved fields prints as
    ``.word`` too, so that the text always assembles back to the same word).
    """
    insn = decode(word)
    if insn is None:
        return f".word 0x{word:08x}  # illegal"
    m, rd, rs1, rs2, imm = insn
    n = ABI_NAMES
    if m in R_TYPE:
        return f"{m} {n[rd]}, {n[rs1]}, {n[rs2]}"
    if m in ("slli", "srli", "srai"):
        return f"{m} {n[rd]}, {n[rs1]}, 0x{imm:x}"      # objdump prints shift amounts in hex
    if m in I_ALU:
        return f"{m} {n[rd]}, {n[rs1]}, {imm}"
    if m in LOADS or m == "jalr":
        return f"{m} {n[rd]}, {imm}({n[rs1]})"
    if m in STORES:
        return f"{m} {n[rs2]}, {imm}({n[rs1]})"
    if m in BRANCHES:
        return f"{m} {n[rs1]}, {n[rs2]}, 0x{(pc + imm) & _MASK:x}"
    if m in ("lui", "auipc"):
        return f"{m} {n[rd]}, 0x{imm:x}"
    if m == "jal":
        return f"jal {n[rd]}, 0x{(pc + imm) & _MASK:x}"
    if m == "fence":
        fm, pred, succ = imm >> 8, (imm >> 4) & 15, imm & 15
        if rd == 0 and rs1 == 0:
            if fm == 0:
                return f"fence {fence_set_name(pred)}, {fence_set_name(succ)}"
            if fm == 8 and pred == 3 and succ == 3:
                return "fence.tso"
        return f".word 0x{word:08x}  # fence with reserved fields set"
    return m  # ecall, ebreak


def disassemble_image(data: bytes, base: int = 0) -> list:
    """Disassemble a flat little-endian image: one ``"aaaaaaaa:  wwwwwwww  text"`` line per word.

    Raises :class:`guillotine.GuillotineError` if the length is not a multiple of 4.
    """
    data = bytes(data)
    if len(data) % 4:
        raise GuillotineError(
            f"image length {len(data)} bytes is not a multiple of 4 (RV32I words are 4 bytes)")
    lines = []
    for offset in range(0, len(data), 4):
        word = int.from_bytes(data[offset:offset + 4], "little")
        addr = (base + offset) & _MASK
        lines.append(f"{addr:08x}:  {word:08x}  {disassemble(word, addr)}")
    return lines
