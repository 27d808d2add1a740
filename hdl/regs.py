"""Register descriptions, declared once (CONVENTIONS: "Registers are declared once").

A :class:`RegisterBlock` lists :class:`Register` objects (byte offset, fields, doc); each
:class:`Field` has a bit offset, width, :class:`Access` and reset value. From this single
declaration the blocks build their CSR read decoders (:func:`read_mux`) and the documentation,
firmware constants and headers are generated (:meth:`RegisterBlock.markdown`,
:meth:`RegisterBlock.constants`).

The CSR bus between the hypervisor's bus bridge and a block is :class:`CSRSignature`: a word
address, a write strobe with data and a combinational read data return (reads have no side
effects in any block, so there is no read strobe).

Where the blocks sit: :mod:`guillotine.hdl.memory_map` (memory maps, CSR layout,
:class:`~guillotine.hdl.memory_map.CSRMap`); the bus decoder:
:class:`guillotine.hdl.csr_bridge.CSRBridge`; the Markdown/JSON/C/Python outputs of the whole
SoC map: :mod:`guillotine.firmware.regmap` (``guillotine regs``).
"""

import enum
from dataclasses import dataclass, field

from amaranth import Const
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError


class Access(enum.Enum):
    """How software may access a field."""
    R = "R"        #: read-only status
    W = "W"        #: write-only command (reads as 0)
    RW = "RW"      #: read/write
    RW1C = "RW1C"  #: read, write 1 to clear
    RW1S = "RW1S"  #: read, write 1 to set (cannot be cleared by software)
    LOCK = "LOCK"  #: read/write until the block's LOCK bit is set, then read-only until reset


@dataclass(frozen=True)
class Field:
    """One field of a register: ``name``, bit ``offset``, ``width``, ``access``, ``reset``."""
    name: str
    offset: int
    width: int
    access: Access
    reset: int = 0
    doc: str = ""

    def __post_init__(self):
        if not self.name.isidentifier():
            raise GuillotineError(f"field name {self.name!r} is not an identifier")
        if self.width < 1 or self.offset < 0 or self.offset + self.width > 32:
            raise GuillotineError(f"field {self.name} bits [{self.offset + self.width - 1}:"
                                  f"{self.offset}] do not fit a 32-bit register")
        if not 0 <= self.reset < (1 << self.width):
            raise GuillotineError(f"field {self.name} reset {self.reset} does not fit "
                                  f"{self.width} bits")

    @property
    def mask(self):
        """The field's bits within the 32-bit register (already shifted by ``offset``)."""
        return ((1 << self.width) - 1) << self.offset


@dataclass(frozen=True)
class Register:
    """A 32-bit register at byte ``offset`` (word aligned) made of ``fields``."""
    name: str
    offset: int
    fields: tuple
    doc: str = ""

    def __post_init__(self):
        if not self.name.isidentifier():
            raise GuillotineError(f"register name {self.name!r} is not an identifier")
        if self.offset % 4:
            raise GuillotineError(f"register {self.name} offset {self.offset:#x} is not "
                                  f"word aligned")
        seen, used = set(), 0
        for f in self.fields:
            if f.name in seen:
                raise GuillotineError(f"register {self.name} has two fields named {f.name}")
            if used & f.mask:
                raise GuillotineError(f"register {self.name}: field {f.name} overlaps another "
                                      f"field")
            seen.add(f.name)
            used |= f.mask

    def field(self, name):
        """The :class:`Field` called ``name`` (``GuillotineError`` naming the valid ones)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise GuillotineError(f"register {self.name} has no field {name!r}; fields: "
                              f"{', '.join(f.name for f in self.fields)}")

    @property
    def reset(self):
        """Reset value of the whole register (unused bits read as zero)."""
        return sum(f.reset << f.offset for f in self.fields)

    @property
    def writable(self):
        """``True`` if software can change any field (a field that is not :attr:`Access.R`)."""
        return any(f.access is not Access.R for f in self.fields)


@dataclass(frozen=True)
class RegisterBlock:
    """A named block of registers; ``size`` bytes of address space."""
    name: str
    registers: tuple
    size: int = 0x100
    doc: str = ""
    _by_name: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        offsets = {}
        for reg in self.registers:
            if reg.name in self._by_name:
                raise GuillotineError(f"block {self.name} has two registers named {reg.name}")
            if reg.offset in offsets:
                raise GuillotineError(f"block {self.name}: {reg.name} and {offsets[reg.offset]} "
                                      f"share offset {reg.offset:#x}")
            if reg.offset + 4 > self.size:
                raise GuillotineError(f"block {self.name}: {reg.name} at {reg.offset:#x} is "
                                      f"outside the block's {self.size:#x} bytes")
            offsets[reg.offset] = reg.name
            self._by_name[reg.name] = reg

    def __getitem__(self, name):
        """The :class:`Register` called ``name``."""
        try:
            return self._by_name[name]
        except KeyError:
            raise GuillotineError(f"block {self.name} has no register {name!r}") from None

    @property
    def addr_width(self):
        """Width of the word address that decodes this block."""
        return max(1, (self.size // 4 - 1).bit_length())

    def word(self, name):
        """Word address of register ``name`` within the block."""
        return self[name].offset // 4

    def constants(self, prefix=None):
        """Firmware constants: ``{BLOCK_REG: offset, BLOCK_REG_FIELD_SHIFT: ..., _MASK: ...}``."""
        prefix = (prefix or self.name).upper()
        out = {}
        for reg in self.registers:
            out[f"{prefix}_{reg.name}"] = reg.offset
            for f in reg.fields:
                out[f"{prefix}_{reg.name}_{f.name.upper()}_SHIFT"] = f.offset
                out[f"{prefix}_{reg.name}_{f.name.upper()}_MASK"] = f.mask
        return out

    def markdown(self, base=None, name=None, level=3):
        """A Markdown register map of the block (one table per register).

        ``base``: byte address of the block; when given, the overview table has an absolute
        ``address`` column. ``name``: heading name (default the block's name; the SoC map uses
        its placement name). ``level``: heading level of the block (registers get one more).
        """
        name = name or self.name
        head = "#" * level
        where = f" at `{base:#010x}`" if base is not None else ""
        lines = [f"{head} {name}{where}", "", self.doc, ""]
        if base is None:
            lines += ["| offset | register | reset | description |", "|---|---|---|---|"]
        else:
            lines += ["| address | offset | register | reset | description |",
                      "|---|---|---|---|---|"]
        for reg in self.registers:
            addr = "" if base is None else f"`{base + reg.offset:#010x}` | "
            lines.append(f"| {addr}`{reg.offset:#04x}` | {reg.name} | `{reg.reset:#010x}` "
                         f"| {reg.doc} |")
        lines.append("")
        for reg in self.registers:
            lines += [f"{head}# {name}.{reg.name} (`{reg.offset:#04x}`)", "", reg.doc, "",
                      "| bits | field | access | reset | description |", "|---|---|---|---|---|"]
            for f in sorted(reg.fields, key=lambda f: -f.offset):
                hi = f.offset + f.width - 1
                bits = f"{hi}:{f.offset}" if f.width > 1 else f"{f.offset}"
                lines.append(f"| {bits} | {f.name} | {f.access.value} | `{f.reset:#x}` | {f.doc} |")
            lines.append("")
        return "\n".join(lines)


class CSRSignature(wiring.Signature):
    """CSR port of a register block, from the initiator's (bus bridge's) side.

    ``addr`` word address · ``w_stb`` write strobe (one cycle) · ``w_data`` write data ·
    ``r_data`` read data for ``addr``, combinational (reads have no side effects).
    """

    def __init__(self, addr_width):
        if not isinstance(addr_width, int) or isinstance(addr_width, bool) or addr_width < 1:
            raise TypeError(f"CSR address width must be a positive integer, not {addr_width!r}")
        self._addr_width = addr_width
        super().__init__({
            "addr": Out(addr_width),
            "w_stb": Out(1),
            "w_data": Out(32),
            "r_data": In(32),
        })

    @property
    def addr_width(self):
        """Width of the word address."""
        return self._addr_width

    def __eq__(self, other):
        return isinstance(other, CSRSignature) and self.addr_width == other.addr_width

    def __hash__(self):
        return hash((CSRSignature, self._addr_width))

    def __repr__(self):
        return f"CSRSignature({self.addr_width})"


def read_mux(m, block, port, values):
    """Drive ``port.r_data`` from ``values`` = ``{"REG.field": signal_or_int}`` per ``block``.

    Fields that are write-only read as zero; a field missing from ``values`` is an error, so the
    declaration and the hardware cannot drift apart.
    """
    m.d.comb += port.r_data.eq(0)        # unused bits and unmapped addresses read as zero
    with m.Switch(port.addr):
        for reg in block.registers:
            readable = [f for f in reg.fields if f.access is not Access.W]
            if not readable:
                continue
            with m.Case(reg.offset // 4):
                for f in readable:
                    key = f"{reg.name}.{f.name}"
                    if key not in values:
                        raise GuillotineError(f"no value for readable field {key}")
                    value = values[key]
                    if isinstance(value, int):
                        value = Const(value, f.width)
                    m.d.comb += port.r_data[f.offset:f.offset + f.width].eq(value)
    extra = set(values) - {f"{r.name}.{f.name}" for r in block.registers for f in r.fields}
    if extra:
        raise GuillotineError(f"values for undeclared fields: {', '.join(sorted(extra))}")
