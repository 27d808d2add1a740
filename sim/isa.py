"""RV32I reference interpreter: the golden model for lockstep tests against the core.

Semantics match the core (DESIGN §6): no CSRs, no traps; every exception *halts* the machine
and records a :class:`~guillotine.hdl.cpu.causes.HaltCause`. The halting instruction is not
retired and writes no register::

    from guillotine.firmware.asm import Program
    from guillotine.sim.isa import Machine

    p = Program()
    p.li("a0", 41)
    p.addi("a0", "a0", 1)
    p.ebreak()
    m = Machine(image=p.assemble().data)
    m.run(100)                       # -> 2 retired
    assert m.halted and m.cause == HaltCause.EBREAK and m.regs[10] == 42

Memory map: RAM at ``[ram_base, ram_base + ram_size)``; every other address is a bus error
(``BUS_ERROR_FETCH/LOAD/STORE``). Misaligned ``lh/lhu/lw`` -> ``MISALIGNED_LOAD``, ``sh/sw`` ->
``MISALIGNED_STORE`` (checked before the hooks and the bus). A *taken* branch, ``jal`` or ``jalr``
whose target is not 4-byte aligned halts with ``MISALIGNED_FETCH`` at the jump itself. Illegal
encodings (see :func:`guillotine.firmware.disasm.decode`) -> ``ILLEGAL``; ``ecall``/``ebreak`` ->
``ECALL``/``EBREAK``; ``fence`` is a no-op.

MMIO is modelled with two optional hooks, consulted after the alignment check and before the
RAM range check:

* ``store_hook(addr, value, size) -> bool``: ``value`` is the stored ``size``-byte value
  (unsigned); return ``True`` to swallow the store (RAM is not written, no bus error).
* ``load_hook(addr, size) -> int | None``: return the raw unsigned ``size``-byte value (it is
  masked, then sign- or zero-extended as the load requires), or ``None`` for normal handling.
* ``fetch_hook(addr) -> int | None`` (optional extra): return the instruction word at ``addr``
  to fetch from outside RAM (e.g. a ROM of a two-region memory map), or ``None`` for normal
  handling (RAM, else ``BUS_ERROR_FETCH``).
"""

from __future__ import annotations

from typing import NamedTuple

from guillotine import GuillotineError
from guillotine.firmware.disasm import decode
from guillotine.hdl.cpu.causes import HaltCause

__all__ = ["Machine", "Retirement", "HaltCause"]

_MASK = 0xFFFF_FFFF


class Retirement(NamedTuple):
    """One retired instruction: its ``pc`` and word, and the register write it made.

    ``rd`` and ``value`` are 0 when no register was written (stores, branches, fence, or a
    destination of x0).
    """
    pc: int
    insn: int
    rd: int
    value: int


# Execution kinds (small ints: compared in order of frequency in step()).
_ALU_R, _ALU_I, _LOAD, _STORE, _BRANCH, _LUI, _AUIPC, _JAL, _JALR, _FENCE, _ECALL, _EBREAK, \
    _ILLEGAL = range(13)


def _s(x):
    return x - 0x1_0000_0000 if x & 0x8000_0000 else x


_ALU = {
    "add": lambda a, b: (a + b) & _MASK,
    "sub": lambda a, b: (a - b) & _MASK,
    "sll": lambda a, b: (a << (b & 31)) & _MASK,
    "slt": lambda a, b: int(_s(a) < _s(b)),
    "sltu": lambda a, b: int(a < b),
    "xor": lambda a, b: a ^ b,
    "srl": lambda a, b: a >> (b & 31),
    "sra": lambda a, b: (_s(a) >> (b & 31)) & _MASK,
    "or": lambda a, b: a | b,
    "and": lambda a, b: a & b,
}
_ALU_IMM = {"addi": "add", "slti": "slt", "sltiu": "sltu", "xori": "xor", "ori": "or",
            "andi": "and", "slli": "sll", "srli": "srl", "srai": "sra"}
# size, signed
_LOADS = {"lb": (1, True), "lh": (2, True), "lw": (4, False), "lbu": (1, False), "lhu": (2, False)}
_STORES = {"sb": 1, "sh": 2, "sw": 4}
_BRANCHES = {
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
    "blt": lambda a, b: _s(a) < _s(b),
    "bge": lambda a, b: _s(a) >= _s(b),
    "bltu": lambda a, b: a < b,
    "bgeu": lambda a, b: a >= b,
}

_CACHE: dict = {}
_CACHE_LIMIT = 1 << 16


def _compile(word):
    """Decode ``word`` into an execution tuple ``(kind, rd, rs1, rs2, imm, arg)``."""
    insn = decode(word)
    if insn is None:
        entry = (_ILLEGAL, 0, 0, 0, 0, None)
    else:
        m, rd, rs1, rs2, imm = insn
        if m in _ALU:
            entry = (_ALU_R, rd, rs1, rs2, 0, _ALU[m])
        elif m in _ALU_IMM:
            entry = (_ALU_I, rd, rs1, 0, imm & _MASK, _ALU[_ALU_IMM[m]])
        elif m in _LOADS:
            entry = (_LOAD, rd, rs1, 0, imm, _LOADS[m])
        elif m in _STORES:
            entry = (_STORE, 0, rs1, rs2, imm, _STORES[m])
        elif m in _BRANCHES:
            entry = (_BRANCH, 0, rs1, rs2, imm, _BRANCHES[m])
        elif m == "lui":
            entry = (_LUI, rd, 0, 0, (imm << 12) & _MASK, None)
        elif m == "auipc":
            entry = (_AUIPC, rd, 0, 0, imm << 12, None)
        elif m == "jal":
            entry = (_JAL, rd, 0, 0, imm, None)
        elif m == "jalr":
            entry = (_JALR, rd, rs1, 0, imm, None)
        elif m == "fence":
            entry = (_FENCE, 0, 0, 0, 0, None)
        elif m == "ecall":
            entry = (_ECALL, 0, 0, 0, 0, None)
        else:
            entry = (_EBREAK, 0, 0, 0, 0, None)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[word] = entry
    return entry


class Machine:
    """An RV32I hart with flat RAM; see the module docstring for the exact semantics.

    Parameters
    ----------
    ram_size : bytes of RAM (a positive multiple of 4).
    reset_pc : initial ``pc`` (4-byte aligned).
    image : bytes loaded at ``ram_base``, or an object with ``.data`` and ``.base`` (such as
        :class:`guillotine.firmware.asm.Image`) loaded at its ``base``.
    ram_base : address of the first RAM byte (4-byte aligned).
    store_hook, load_hook, fetch_hook : optional MMIO hooks (see module docstring).

    Attributes
    ----------
    regs : list of 32 unsigned ints (x0 always reads 0). pc : int. mem : bytearray (the RAM).
    halted : bool. cause : HaltCause (``NONE`` while running). retired : int.
    """

    def __init__(self, ram_size: int = 65536, reset_pc: int = 0, image=b"", ram_base: int = 0,
                 store_hook=None, load_hook=None, fetch_hook=None):
        for name, value in (("ram_size", ram_size), ("reset_pc", reset_pc),
                            ("ram_base", ram_base)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MASK:
                raise TypeError(f"Machine {name} must be an int in 0..0xffffffff, not {value!r}")
        if ram_size <= 0 or ram_size % 4:
            raise ValueError(f"Machine ram_size must be a positive multiple of 4, not {ram_size}")
        if ram_base % 4 or ram_base + ram_size > 1 << 32:
            raise ValueError(f"Machine RAM [0x{ram_base:x}, +0x{ram_size:x}) must be 4-byte "
                             f"aligned and inside the 32-bit address space")
        if reset_pc % 4:
            raise ValueError(f"Machine reset_pc 0x{reset_pc:x} is not 4-byte aligned")
        self.ram_base = ram_base
        self.ram_size = ram_size
        self.reset_pc = reset_pc
        self.mem = bytearray(ram_size)
        self.regs = [0] * 32
        self.pc = reset_pc
        self.halted = False
        self.cause = HaltCause.NONE
        self.retired = 0
        self.store_hook = store_hook
        self.load_hook = load_hook
        self.fetch_hook = fetch_hook
        if hasattr(image, "data") and hasattr(image, "base"):
            self.load(image.data, image.base)
        elif image:
            self.load(image, ram_base)

    def load(self, data, addr: int):
        """Copy ``data`` into RAM at address ``addr`` (raises GuillotineError if it won't fit)."""
        data = bytes(data)
        offset = addr - self.ram_base
        if offset < 0 or offset + len(data) > self.ram_size:
            raise GuillotineError(
                f"image of {len(data)} bytes at 0x{addr:08x} does not fit in RAM "
                f"[0x{self.ram_base:08x}, 0x{self.ram_base + self.ram_size:08x})")
        self.mem[offset:offset + len(data)] = data

    def read(self, addr: int, size: int = 4) -> int:
        """Read ``size`` bytes of RAM at ``addr`` (unsigned little-endian; no hooks)."""
        offset = addr - self.ram_base
        if offset < 0 or offset + size > self.ram_size:
            raise GuillotineError(f"address 0x{addr:08x} (+{size}) is outside RAM")
        return int.from_bytes(self.mem[offset:offset + size], "little")

    def write(self, addr: int, value: int, size: int = 4):
        """Write ``size`` bytes of RAM at ``addr`` (little-endian; no hooks)."""
        offset = addr - self.ram_base
        if offset < 0 or offset + size > self.ram_size:
            raise GuillotineError(f"address 0x{addr:08x} (+{size}) is outside RAM")
        self.mem[offset:offset + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    def _halt(self, cause):
        self.halted = True
        self.cause = cause
        return None

    def step(self):
        """Execute one instruction.

        Returns a :class:`Retirement`, or ``None`` if the machine is (or just became) halted;
        then :attr:`cause` says why, and ``pc`` still points at the halting instruction.
        """
        if self.halted:
            return None
        pc = self.pc
        mem = self.mem
        off = pc - self.ram_base
        word = None
        if self.fetch_hook is not None:
            word = self.fetch_hook(pc)
        if word is not None:
            word &= _MASK
        elif off < 0 or off + 4 > self.ram_size:
            return self._halt(HaltCause.BUS_ERROR_FETCH)
        else:
            word = mem[off] | (mem[off + 1] << 8) | (mem[off + 2] << 16) | (mem[off + 3] << 24)
        entry = _CACHE.get(word)
        if entry is None:
            entry = _compile(word)
        kind, rd, rs1, rs2, imm, arg = entry
        regs = self.regs
        regs[0] = 0
        next_pc = (pc + 4) & _MASK
        if kind == _ALU_I:
            value = arg(regs[rs1], imm)
        elif kind == _ALU_R:
            value = arg(regs[rs1], regs[rs2])
        elif kind == _LOAD:
            size, signed = arg
            addr = (regs[rs1] + imm) & _MASK
            if addr & (size - 1):
                return self._halt(HaltCause.MISALIGNED_LOAD)
            value = None
            if self.load_hook is not None:
                value = self.load_hook(addr, size)
            if value is None:
                o = addr - self.ram_base
                if o < 0 or o + size > self.ram_size:
                    return self._halt(HaltCause.BUS_ERROR_LOAD)
                value = int.from_bytes(mem[o:o + size], "little")
            else:
                value &= (1 << (8 * size)) - 1
            if signed and value >> (8 * size - 1):
                value = (value - (1 << (8 * size))) & _MASK
        elif kind == _STORE:
            size = arg
            addr = (regs[rs1] + imm) & _MASK
            if addr & (size - 1):
                return self._halt(HaltCause.MISALIGNED_STORE)
            data = regs[rs2] & ((1 << (8 * size)) - 1)
            if self.store_hook is None or not self.store_hook(addr, data, size):
                o = addr - self.ram_base
                if o < 0 or o + size > self.ram_size:
                    return self._halt(HaltCause.BUS_ERROR_STORE)
                mem[o:o + size] = data.to_bytes(size, "little")
            value = 0
        elif kind == _BRANCH:
            if arg(regs[rs1], regs[rs2]):
                target = (pc + imm) & _MASK
                if target & 3:
                    return self._halt(HaltCause.MISALIGNED_FETCH)
                next_pc = target
            value = 0
        elif kind == _LUI:
            value = imm
        elif kind == _AUIPC:
            value = (pc + imm) & _MASK
        elif kind == _JAL:
            target = (pc + imm) & _MASK
            if target & 3:
                return self._halt(HaltCause.MISALIGNED_FETCH)
            value, next_pc = next_pc, target
        elif kind == _JALR:
            target = (regs[rs1] + imm) & 0xFFFF_FFFE
            if target & 3:
                return self._halt(HaltCause.MISALIGNED_FETCH)
            value, next_pc = next_pc, target
        elif kind == _FENCE:
            value = 0
        elif kind == _ECALL:
            return self._halt(HaltCause.ECALL)
        elif kind == _EBREAK:
            return self._halt(HaltCause.EBREAK)
        else:
            return self._halt(HaltCause.ILLEGAL)
        if rd:
            regs[rd] = value
        else:
            value = 0
        self.pc = next_pc
        self.retired += 1
        return Retirement(pc, word, rd, value)

    def run(self, max_steps: int) -> int:
        """Step until halted or ``max_steps`` instructions; return how many retired."""
        step = self.step
        count = 0
        for _ in range(max_steps):
            if step() is None:
                break
            count += 1
        return count
