"""RV32I assembler: a Python DSL (:class:`Program`) and a GNU-syntax text front end.

The DSL::

    from guillotine.firmware.asm import Program

    p = Program(base=0)
    p.equ("COUNT", 10)
    p.li("a0", 0)
    p.li("a1", "COUNT")
    p.label("loop")
    p.addi("a0", "a0", 1)
    p.blt("a0", "a1", "loop")
    p.ebreak()
    img = p.assemble()          # -> Image(.base, .data, .words, .symbols, .hex(), .listing())

The text front end, :func:`assemble_text`, accepts the GNU ``as`` syntax for the same subset and
drives the same :class:`Program`, so both produce identical images.

Conventions:

* Registers are ``x0``..``x31`` or ABI names (``zero ra sp gp tp t0-t6 s0-s11 fp a0-a7``), or an
  ``int`` 0..31 in the DSL.
* Immediates are ``int`` or a string expression (``"COUNT*4"``, ``"%lo(buf)"``, ``"end-start"``)
  over numbers, symbols (labels and :meth:`Program.equ` constants), ``.`` (address of the current
  instruction), ``%hi()``/``%lo()``, and the C operators ``+ - * / % << >> & | ^ ~``.
* Branch/jump targets are a label (or expression) or an ``int``; an ``int`` is an **absolute**
  address, exactly as the disassembler prints it.
* Every problem raises :class:`AsmError` naming file, line and problem.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sys

from guillotine import GuillotineError
from guillotine.firmware.disasm import ABI_NAMES, disassemble

__all__ = [
    "AsmError", "Image", "Program", "assemble_text", "assemble_file", "parse_register", "REGISTERS",
    "encode_r", "encode_i", "encode_s", "encode_b", "encode_u", "encode_j",
]

_MASK = 0xFFFF_FFFF


class AsmError(GuillotineError):
    """An assembly error. ``str(err)`` is one line: ``file:line: problem``.

    Attributes ``filename``, ``line`` (``None`` if unknown) and ``problem`` hold the parts.
    """

    def __init__(self, problem: str, filename: str = "<program>", line: int | None = None):
        self.problem = problem
        self.filename = filename
        self.line = line
        where = filename if line is None else f"{filename}:{line}"
        super().__init__(f"{where}: {problem}")


class _Problem(Exception):
    """Internal: a problem whose location is added by the caller."""


class _Undefined(_Problem):
    """Internal: an expression uses a symbol that is not (yet) defined."""

    def __init__(self, name):
        self.name = name
        if name.startswith(_LOCAL):
            n = name[len(_LOCAL):].split("$")[0]
            super().__init__(f"numeric label reference '{n}f' has no following '{n}:'")
        else:
            super().__init__(f"undefined symbol '{name}'")


#: Internal prefix of GNU numeric local labels (``1:`` ... ``1b``/``1f``) in the symbol table.
_LOCAL = ".Lnum"


# --------------------------------------------------------------------------------------------
# Registers and encodings

#: Register name -> number: ``x0``..``x31``, the ABI names and ``fp`` (= s0).
REGISTERS = {f"x{i}": i for i in range(32)}
REGISTERS.update({name: i for i, name in enumerate(ABI_NAMES)})
REGISTERS["fp"] = 8


def parse_register(reg) -> int:
    """Return the number of register ``reg`` (name or int 0..31); raise :class:`AsmError`."""
    try:
        return _reg(reg)
    except _Problem as exc:
        raise AsmError(str(exc)) from None


def _reg(reg):
    if isinstance(reg, int) and not isinstance(reg, bool):
        if 0 <= reg <= 31:
            return reg
        raise _Problem(f"register {reg} out of range (x0..x31)")
    if isinstance(reg, str):
        name = reg.strip().lower()
        if name in REGISTERS:
            return REGISTERS[name]
        if re.fullmatch(r"x\d+", name):
            raise _Problem(f"register '{reg.strip()}' out of range (x0..x31)")
        raise _Problem(f"unknown register '{reg.strip()}' (expected x0..x31 or an ABI name such "
                       f"as zero, ra, sp, t0, s0, a0)")
    raise _Problem(f"register must be a name like 'a0' or an int 0..31, not {reg!r}")


def encode_r(opcode: int, funct3: int, funct7: int, rd: int, rs1: int, rs2: int) -> int:
    """Encode an R-type instruction word."""
    return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode


def encode_i(opcode: int, funct3: int, rd: int, rs1: int, imm: int) -> int:
    """Encode an I-type instruction word (``imm`` is a signed 12-bit value)."""
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode


def encode_s(opcode: int, funct3: int, rs1: int, rs2: int, imm: int) -> int:
    """Encode an S-type (store) instruction word (``imm`` is a signed 12-bit offset)."""
    imm &= 0xFFF
    return ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | ((imm & 31) << 7) \
        | opcode


def encode_b(funct3: int, rs1: int, rs2: int, offset: int) -> int:
    """Encode a B-type (branch) instruction word (``offset`` is an even signed 13-bit value)."""
    o = offset & 0x1FFF
    return (((o >> 12) & 1) << 31 | ((o >> 5) & 0x3F) << 25 | rs2 << 20 | rs1 << 15
            | funct3 << 12 | ((o >> 1) & 0xF) << 8 | ((o >> 11) & 1) << 7 | 0x63)


def encode_u(opcode: int, rd: int, imm20: int) -> int:
    """Encode a U-type (lui/auipc) instruction word (``imm20`` is the upper 20 bits)."""
    return ((imm20 & 0xFFFFF) << 12) | (rd << 7) | opcode


def encode_j(rd: int, offset: int) -> int:
    """Encode a jal instruction word (``offset`` is an even signed 21-bit value)."""
    o = offset & 0x1FFFFF
    return (((o >> 20) & 1) << 31 | ((o >> 1) & 0x3FF) << 21 | ((o >> 11) & 1) << 20
            | ((o >> 12) & 0xFF) << 12 | rd << 7 | 0x6F)


_R_OPS = {"add": (0, 0x00), "sub": (0, 0x20), "sll": (1, 0), "slt": (2, 0), "sltu": (3, 0),
          "xor": (4, 0), "srl": (5, 0), "sra": (5, 0x20), "or": (6, 0), "and": (7, 0)}
_I_OPS = {"addi": 0, "slti": 2, "sltiu": 3, "xori": 4, "ori": 6, "andi": 7}
_SHIFT_OPS = {"slli": (1, 0), "srli": (5, 0), "srai": (5, 0x20)}
_LOAD_OPS = {"lb": 0, "lh": 1, "lw": 2, "lbu": 4, "lhu": 5}
_STORE_OPS = {"sb": 0, "sh": 1, "sw": 2}
_BRANCH_OPS = {"beq": 0, "bne": 1, "blt": 4, "bge": 5, "bltu": 6, "bgeu": 7}

_IMM12 = (-2048, 2047)


def _check_range(value, lo, hi, what):
    if not lo <= value <= hi:
        raise _Problem(f"{what} {value} out of range ({lo}..{hi})")
    return value


def _sext32(value):
    value &= _MASK
    return value - (1 << 32) if value & 0x8000_0000 else value


def _hi(value):
    return ((value + 0x800) >> 12) & 0xFFFFF


def _lo(value):
    return ((value & 0xFFF) ^ 0x800) - 0x800


# --------------------------------------------------------------------------------------------
# Expressions

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*)
    | (?P<char>'(?:\\.|[^\\'])')
    | (?P<reloc>%(?:hi|lo)\b)
    | (?P<name>[A-Za-z_.$][A-Za-z0-9_.$]*)
    | (?P<op><<|>>|[-+*/%&|^~()])
    )""", re.VERBOSE)

_BINARY = {"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}


def _tokenize(text):
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _Problem(f"cannot parse expression '{text}' at '{text[pos:].strip()}'")
        pos = m.end()
        kind = m.lastgroup
        tok = m.group(kind)
        if kind == "num":
            digits = tok.replace("_", "")
            if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
                raise _Problem(f"ambiguous number '{tok}' (GNU reads a leading 0 as octal; "
                               f"write {int(digits)} or 0o{digits.lstrip('0')})")
            tokens.append(("num", int(digits, 0)))
        elif kind == "char":
            tokens.append(("num", _char_value(tok)))
        else:
            tokens.append((kind, tok))
    return tokens


def _char_value(tok):
    try:
        value = ast.literal_eval(tok)
    except (ValueError, SyntaxError):
        raise _Problem(f"bad character literal {tok}") from None
    if len(value) != 1 or ord(value) > 255:
        raise _Problem(f"bad character literal {tok}")
    return ord(value)


class _ExprParser:
    def __init__(self, text):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self):
        if not self.tokens:
            raise _Problem("missing expression")
        node = self.binary(1)
        if self.pos != len(self.tokens):
            raise _Problem(f"cannot parse expression '{self.text}' "
                           f"(unexpected '{self.tokens[self.pos][1]}')")
        return node

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def binary(self, min_prec):
        left = self.unary()
        while True:
            kind, tok = self.peek()
            if kind != "op" or tok not in _BINARY or _BINARY[tok] < min_prec:
                return left
            self.pos += 1
            right = self.binary(_BINARY[tok] + 1)
            left = ("bin", tok, left, right)

    def unary(self):
        kind, tok = self.peek()
        if kind is None:
            raise _Problem(f"cannot parse expression '{self.text}' (it ends too early)")
        self.pos += 1
        if kind == "num":
            return ("num", tok)
        if kind == "name":
            return ("dot",) if tok == "." else ("sym", tok)
        if kind == "reloc":
            if self.peek() != ("op", "("):
                raise _Problem(f"{tok} needs parentheses: {tok}(symbol)")
            self.pos += 1
            inner = self.binary(1)
            self.expect_close()
            return (tok[1:], inner)
        if tok == "(":
            inner = self.binary(1)
            self.expect_close()
            return inner
        if tok in ("-", "+", "~"):
            return ("un", tok, self.unary())
        raise _Problem(f"cannot parse expression '{self.text}' (unexpected '{tok}')")

    def expect_close(self):
        if self.peek() != ("op", ")"):
            raise _Problem(f"cannot parse expression '{self.text}' (missing ')')")
        self.pos += 1


@functools.lru_cache(maxsize=4096)
def _parse_expr(text):
    try:
        return _ExprParser(text).parse()
    except RecursionError:
        raise _Problem("expression nested too deeply") from None


def _eval(node, symbols, dot):
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "sym":
        name = node[1]
        if name in symbols:
            return symbols[name]
        if name.lower() in REGISTERS:
            raise _Problem(f"expected an immediate or symbol, got register '{name}'")
        raise _Undefined(name)
    if kind == "dot":
        return dot
    if kind == "un":
        v = _eval(node[2], symbols, dot)
        return -v if node[1] == "-" else (~v if node[1] == "~" else v)
    if kind == "hi":
        return _hi(_eval(node[1], symbols, dot))
    if kind == "lo":
        return _lo(_eval(node[1], symbols, dot))
    op, a, b = node[1], _eval(node[2], symbols, dot), _eval(node[3], symbols, dot)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):
        if b == 0:
            raise _Problem("division by zero in expression")
        q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C truncation
        return q if op == "/" else a - q * b
    if op == "<<":
        if not 0 <= b < 64:
            raise _Problem(f"shift count {b} out of range (0..63)")
        return a << b
    if op == ">>":
        if not 0 <= b < 64:
            raise _Problem(f"shift count {b} out of range (0..63)")
        return a >> b
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    return a ^ b


class _Env:
    """Evaluates immediates for one item: known symbols and ``.`` = the item's address."""

    def __init__(self, symbols, dot, pc=None):
        self.symbols = symbols
        self.dot = dot                      # value of '.': start of the statement
        self.pc = dot if pc is None else pc  # address of this instruction (for offsets)

    def value(self, x):
        if isinstance(x, bool):
            raise _Problem(f"expected an integer or expression, not {x!r}")
        if isinstance(x, int):
            return x
        if isinstance(x, str):
            return _eval(_parse_expr(x.strip()), self.symbols, self.dot)
        raise _Problem(f"expected an integer or expression string, not {x!r}")

    def offset(self, target, what, lo, hi, align):
        """PC-relative offset from this item to ``target`` (32-bit wrapping), range-checked."""
        dest = self.value(target)
        off = ((dest - self.pc + 0x8000_0000) & _MASK) - 0x8000_0000
        if off % align:
            raise _Problem(f"{what} target {_show(target)} (0x{dest & _MASK:08x}) is not "
                           f"{align}-byte aligned")
        if not lo <= off <= hi:
            raise _Problem(f"{what} target {_show(target)} too far: offset {off} bytes "
                           f"(valid {lo}..{hi})")
        return off


def _show(x):
    return f"'{x}'" if isinstance(x, str) else f"0x{x & _MASK:x}"


# --------------------------------------------------------------------------------------------
# Image

class Image:
    """An assembled flat image.

    Attributes: ``base`` (load address), ``data`` (little-endian bytes), ``symbols``
    (name -> value, labels and constants). :attr:`words`, :meth:`hex` and :meth:`listing` give
    other views of the same bytes.
    """

    def __init__(self, base: int, data: bytes, symbols: dict | None = None, rows=()):
        self.base = base
        self.data = bytes(data)
        self.symbols = dict(symbols or {})
        self._rows = list(rows)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        return f"Image(base=0x{self.base:08x}, {len(self.data)} bytes, {len(self.symbols)} symbols)"

    @property
    def words(self) -> list:
        """The image as 32-bit little-endian words (a partial last word is zero-padded)."""
        data = self.data + bytes(-len(self.data) % 4)
        return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]

    def hex(self) -> str:
        """``$readmemh`` text: one 32-bit word per line, 8 hex digits, lowest address first."""
        return "".join(f"{w:08x}\n" for w in self.words)

    def listing(self) -> str:
        """Human-readable listing: address, word, disassembly and source, plus label lines."""
        lines = []
        for kind, addr, payload, source in self._rows:
            if kind == "label":
                lines.append(f"{'':8}  {'':8}  {payload}:")
                continue
            first = True
            for i in range(0, len(payload), 4):
                chunk = payload[i:i + 4]
                a = addr + i
                if kind == "code":
                    word = int.from_bytes(chunk, "little")
                    text, hexw = disassemble(word, a), f"{word:08x}"
                elif kind in ("data2", "data4"):
                    value = int.from_bytes(chunk, "little")
                    hexw = f"{value:0{2 * len(chunk)}x}".rjust(8)
                    text = f".word 0x{value:08x}" if len(chunk) == 4 else f".half 0x{value:04x}"
                else:
                    text = ".byte " + ", ".join(f"0x{b:02x}" for b in chunk)
                    hexw = chunk[::-1].hex().rjust(8)
                src = source if first else ""
                first = False
                lines.append(f"{a:08x}  {hexw}  {text:<30}  {src}".rstrip())
        return "\n".join(lines) + ("\n" if lines else "")


# --------------------------------------------------------------------------------------------
# The DSL

class _Item:
    __slots__ = ("addr", "dot", "size", "kind", "build", "source", "loc", "data")

    def __init__(self, addr, dot, size, kind, build, source, loc):
        self.addr, self.dot, self.size, self.kind, self.build = addr, dot, size, kind, build
        self.source, self.loc, self.data = source, loc, None

    def env(self, symbols):
        return _Env(symbols, self.dot, self.addr)


def _dsl(method):
    """Give a DSL method a source location and turn internal problems into :class:`AsmError`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self._depth:
            return method(self, *args, **kwargs)
        self._loc = self._where()
        self._source = self._text_source or _render(method.__name__, args)
        self._source_used = False
        self._stmt_pc = self._pc
        self._depth = 1
        try:
            return method(self, *args, **kwargs)
        except _Problem as exc:
            raise AsmError(str(exc), *self._loc) from None
        finally:
            self._depth = 0
    return wrapper


def _show_arg(a):
    if isinstance(a, str):
        return a if a.isprintable() else repr(a)
    if isinstance(a, int) and not isinstance(a, bool) and abs(a) > 255:
        return hex(a)
    return repr(a)


def _render(name, args):
    """GNU-like source text of a DSL call, for the listing."""
    name = name.rstrip("_").replace("_", ".")
    shown = [_show_arg(a) for a in args]
    if name == "label" and shown:
        return f"{shown[0]}:"
    if name in ("word", "half", "byte", "ascii", "space", "align", "equ"):
        name = "." + name
    elif len(args) == 3 and (name in _LOAD_OPS or name in _STORE_OPS):
        return f"{name} {shown[0]}, {shown[1]}({shown[2]})"
    elif len(args) == 3 and name == "jalr":
        return f"jalr {shown[0]}, {shown[2]}({shown[1]})"
    return f"{name} {', '.join(shown)}".rstrip()


_LABEL = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$]*\Z")


class Program:
    """Build an RV32I program in Python; :meth:`assemble` returns an :class:`Image`.

    ``base`` is the address of the first byte. Instruction methods are named after the
    mnemonics (``and_``, ``or_``, ``not_`` for Python keywords, ``fence_tso``); operands follow
    GNU order, with loads/stores as ``lw(rd, offset, rs1)`` / ``sw(rs2, offset, rs1)``.
    """

    def __init__(self, base: int = 0):
        if not isinstance(base, int) or isinstance(base, bool) or not 0 <= base <= _MASK:
            raise AsmError(f"base address must be an int in 0..0xffffffff, not {base!r}")
        self._base = base
        self._pc = base
        self._items = []
        self._labels = []              # (index into items, name)
        self._symbols = {}
        self._symbol_loc = {}
        self._depth = 0
        self._loc = ("<program>", None)
        self._source = ""
        self._source_used = False
        self._stmt_pc = base
        self._text_loc = None          # set by assemble_text
        self._text_source = None

    # -- bookkeeping ------------------------------------------------------------------------
    @property
    def base(self) -> int:
        """Address of the first byte of the image."""
        return self._base

    @property
    def here(self) -> int:
        """Address the next instruction or datum will be placed at."""
        return self._pc

    def _where(self):
        if self._text_loc is not None:
            return self._text_loc
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        if frame is None:
            return ("<program>", None)
        return (frame.f_code.co_filename, frame.f_lineno)

    def _emit(self, size, kind, build):
        addr = self._pc
        if addr + size > 1 << 32:
            raise _Problem("program runs past the end of the 32-bit address space")
        if kind == "code" and addr % 4:
            raise _Problem(f"instruction at 0x{addr:08x} is not 4-byte aligned "
                           f"(put .align 2 / p.align(4) before it)")
        source = "" if self._source_used else self._source
        self._source_used = True
        # '.' is the start of the statement in code (as in GNU: `call .+8` is one statement),
        # and the address of each value in data directives.
        dot = self._stmt_pc if kind == "code" else addr
        item = _Item(addr, dot, size, kind, build, source, self._loc)
        try:
            item.data = build(item.env(self._symbols))
        except _Undefined:
            item.data = None          # forward reference: encoded by assemble()
        self._items.append(item)
        self._pc += size

    def _insn(self, build):
        self._emit(4, "code", lambda env: build(env).to_bytes(4, "little"))

    def _value_now(self, x):
        """The value of ``x`` if every symbol in it is already defined, else ``None``."""
        try:
            return _Env(self._symbols, self._pc).value(x)
        except _Undefined:
            return None

    def _define(self, name, value):
        if not isinstance(name, str) or not _LABEL.match(name) or name == ".":
            raise _Problem(f"bad symbol name {name!r} (letters, digits, _ . $; not starting "
                           f"with a digit)")
        if name.lower() in REGISTERS:
            raise _Problem(f"symbol name '{name}' clashes with a register name")
        if name in self._symbols:
            f, line = self._symbol_loc[name]
            raise _Problem(f"duplicate symbol '{name}' (first defined at {f}:{line})")
        self._symbols[name] = value
        self._symbol_loc[name] = self._loc

    # -- labels, constants, data ------------------------------------------------------------
    @_dsl
    def label(self, name: str):
        """Define label ``name`` at the current address (forward references are allowed)."""
        self._define(name, self._pc)
        self._labels.append((len(self._items), name))

    @_dsl
    def equ(self, name: str, value):
        """Define constant ``name`` (int or expression over symbols defined so far)."""
        v = _Env(self._symbols, self._pc).value(value)
        self._define(name, v)

    def _data(self, values, size, lo, hi, directive):
        if self._pc % size:
            raise _Problem(f"misaligned data: {directive} at 0x{self._pc:08x} is not "
                           f"{size}-byte aligned (put .align / p.align({size}) before it)")
        for v in values:
            if isinstance(v, (bytes, bytearray)) and size == 1:
                if v:
                    self._emit(len(v), "data", lambda env, d=bytes(v): d)
                continue

            def build(env, v=v):
                value = env.value(v)
                if not lo <= value <= hi:
                    raise _Problem(f"{directive} value {value} out of range ({lo}..{hi})")
                return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
            self._emit(size, "data" if size == 1 else f"data{size}", build)

    @_dsl
    def word(self, *values):
        """Emit 32-bit little-endian words (ints or expressions, e.g. label addresses)."""
        self._data(values, 4, -(1 << 31), _MASK, ".word")

    @_dsl
    def half(self, *values):
        """Emit 16-bit little-endian halfwords."""
        self._data(values, 2, -(1 << 15), 0xFFFF, ".half")

    @_dsl
    def byte(self, *values):
        """Emit bytes (ints, expressions, or ``bytes`` objects)."""
        self._data(values, 1, -128, 255, ".byte")

    @_dsl
    def ascii(self, text, zero: bool = False):
        """Emit the bytes of ``text`` (str is UTF-8 encoded), plus a NUL if ``zero``."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        self._data([data + (b"\0" if zero else b"")], 1, -128, 255, ".ascii")

    @_dsl
    def space(self, count: int, fill: int = 0):
        """Emit ``count`` bytes of ``fill``."""
        count = _check_range(_Env(self._symbols, self._pc).value(count), 0, 1 << 24, ".space size")
        fill = _check_range(_Env(self._symbols, self._pc).value(fill), -128, 255, ".space fill")
        if count:
            data = bytes([fill & 0xFF]) * count
            self._emit(count, "data", lambda env: data)

    @_dsl
    def align(self, n: int, fill=None):
        """Pad to a multiple of ``n`` bytes (a power of two).

        Without ``fill``, whole words are padded with ``nop`` (as GNU does in code) and any
        partial word with zero bytes.
        """
        n = _Env(self._symbols, self._pc).value(n)
        if n <= 0 or n & (n - 1):
            raise _Problem(f"alignment {n} is not a power of two")
        pad = -self._pc % n
        if fill is not None:
            fill = _check_range(_Env(self._symbols, self._pc).value(fill), -128, 255, "align fill")
            if pad:
                data = bytes([fill & 0xFF]) * pad
                self._emit(pad, "data", lambda env: data)
            return
        odd = pad % 4 if self._pc % 4 else 0
        if odd:
            self._emit(odd, "data", lambda env: bytes(odd))
        for _ in range((pad - odd) // 4):
            self._insn(lambda env: 0x0000_0013)

    # -- base instructions ------------------------------------------------------------------
    def _r(self, name, rd, rs1, rs2):
        f3, f7 = _R_OPS[name]
        word = encode_r(0x33, f3, f7, _reg(rd), _reg(rs1), _reg(rs2))
        self._insn(lambda env: word)

    def _i(self, name, rd, rs1, imm):
        f3, rd, rs1 = _I_OPS[name], _reg(rd), _reg(rs1)
        self._insn(lambda env: encode_i(
            0x13, f3, rd, rs1, _check_range(env.value(imm), *_IMM12, f"immediate for {name}")))

    def _shift(self, name, rd, rs1, shamt):
        (f3, f7), rd, rs1 = _SHIFT_OPS[name], _reg(rd), _reg(rs1)
        self._insn(lambda env: encode_r(
            0x13, f3, f7, rd, rs1, _check_range(env.value(shamt), 0, 31, f"shift amount for {name}")))

    def _load(self, name, rd, offset, rs1):
        f3, rd, rs1 = _LOAD_OPS[name], _reg(rd), _reg(rs1)
        self._insn(lambda env: encode_i(
            0x03, f3, rd, rs1, _check_range(env.value(offset), *_IMM12, f"offset for {name}")))

    def _store(self, name, rs2, offset, rs1):
        f3, rs2, rs1 = _STORE_OPS[name], _reg(rs2), _reg(rs1)
        self._insn(lambda env: encode_s(
            0x23, f3, rs1, rs2, _check_range(env.value(offset), *_IMM12, f"offset for {name}")))

    def _branch(self, name, rs1, rs2, target):
        f3, rs1, rs2 = _BRANCH_OPS[name], _reg(rs1), _reg(rs2)
        self._insn(lambda env: encode_b(
            f3, rs1, rs2, env.offset(target, f"{name} branch", -4096, 4094, 2)))

    @_dsl
    def lui(self, rd, imm20):
        """``lui rd, imm20``: rd = imm20 << 12 (imm20 in 0..0xfffff, or ``"%hi(sym)"``)."""
        rd = _reg(rd)
        self._insn(lambda env: encode_u(
            0x37, rd, _check_range(env.value(imm20), 0, 0xFFFFF, "immediate for lui")))

    @_dsl
    def auipc(self, rd, imm20):
        """``auipc rd, imm20``: rd = pc + (imm20 << 12) (imm20 in 0..0xfffff)."""
        rd = _reg(rd)
        self._insn(lambda env: encode_u(
            0x17, rd, _check_range(env.value(imm20), 0, 0xFFFFF, "immediate for auipc")))

    @_dsl
    def jal(self, rd_or_target, target=None):
        """``jal rd, target``; ``jal(target)`` is the short form with rd = ra."""
        if target is None:
            rd, target = 1, rd_or_target
        else:
            rd = _reg(rd_or_target)
        self._insn(lambda env: encode_j(rd, env.offset(target, "jal", -(1 << 20), (1 << 20) - 2, 2)))

    @_dsl
    def jalr(self, rd_or_rs1, rs1=None, imm=0):
        """``jalr rd, imm(rs1)`` as ``jalr(rd, rs1, imm=0)``; ``jalr(rs1)`` links into ra."""
        if rs1 is None:
            rd, rs1 = 1, _reg(rd_or_rs1)
        else:
            rd, rs1 = _reg(rd_or_rs1), _reg(rs1)
        self._insn(lambda env: encode_i(
            0x67, 0, rd, rs1, _check_range(env.value(imm), *_IMM12, "offset for jalr")))

    @_dsl
    def fence(self, pred: str = "iorw", succ: str = "iorw"):
        """``fence pred, succ`` (sets of ``i o r w``; a no-op on this single-hart SoC)."""
        p, s = _fence_set(pred), _fence_set(succ)
        self._insn(lambda env: (p << 24) | (s << 20) | 0x0F)

    @_dsl
    def fence_tso(self):
        """``fence.tso``."""
        self._insn(lambda env: 0x8330_000F)

    @_dsl
    def ecall(self):
        """``ecall`` (halts this SoC's cores with cause ECALL)."""
        self._insn(lambda env: 0x0000_0073)

    @_dsl
    def ebreak(self):
        """``ebreak`` (halts this SoC's cores with cause EBREAK)."""
        self._insn(lambda env: 0x0010_0073)

    # -- pseudo-instructions ----------------------------------------------------------------
    @_dsl
    def nop(self):
        """``nop`` = ``addi x0, x0, 0``."""
        self._i("addi", 0, 0, 0)

    @_dsl
    def li(self, rd, value):
        """Load a 32-bit constant (-2**31..2**32-1): ``addi`` if it fits 12 bits, else ``lui``
        (+ ``addi`` with the rounded low part, omitted when zero). A forward-referenced value
        always takes ``lui`` + ``addi``."""
        rd = _reg(rd)
        now = self._value_now(value)

        def full(env):
            v = env.value(value)
            _check_range(v, -(1 << 31), _MASK, "li value")
            return _sext32(v)

        if now is not None:
            now = full(_Env(self._symbols, self._pc))
            if -2048 <= now <= 2047:
                self._i("addi", rd, 0, now)
                return
            hi, lo = _hi(now), _lo(now)
            self.lui(rd, hi)
            if lo or rd == 0:         # GNU as quirk for `li zero, X`, kept for identical output
                self._i("addi", rd, rd, lo)
            return
        self._insn(lambda env: encode_u(0x37, rd, _hi(full(env))))
        self._insn(lambda env: encode_i(0x13, 0, rd, rd, _lo(full(env))))

    def _pcrel_pair(self, target, first, second):
        """auipc + second instruction, both using the pc of the auipc."""
        auipc_pc = self._pc

        def off(env):
            return ((env.value(target) - auipc_pc + 0x8000_0000) & _MASK) - 0x8000_0000

        self._insn(lambda env: first(_hi(off(env))))
        self._insn(lambda env: second(_lo(off(env))))

    @_dsl
    def la(self, rd, target):
        """``la rd, sym`` = ``auipc rd, %pcrel_hi(sym)`` + ``addi rd, rd, %pcrel_lo``."""
        rd = _reg(rd)
        self._pcrel_pair(target, lambda hi: encode_u(0x17, rd, hi),
                         lambda lo: encode_i(0x13, 0, rd, rd, lo))

    @_dsl
    def call(self, target):
        """``call sym`` = ``auipc ra, ...`` + ``jalr ra, ...(ra)`` (any 32-bit distance)."""
        self._pcrel_pair(target, lambda hi: encode_u(0x17, 1, hi),
                         lambda lo: encode_i(0x67, 0, 1, 1, lo))

    @_dsl
    def tail(self, target):
        """``tail sym`` = ``auipc t1, ...`` + ``jalr x0, ...(t1)``."""
        self._pcrel_pair(target, lambda hi: encode_u(0x17, 6, hi),
                         lambda lo: encode_i(0x67, 0, 0, 6, lo))

    @_dsl
    def mv(self, rd, rs):
        """``mv rd, rs`` = ``addi rd, rs, 0``."""
        self._i("addi", rd, rs, 0)

    @_dsl
    def not_(self, rd, rs):
        """``not rd, rs`` = ``xori rd, rs, -1``."""
        self._i("xori", rd, rs, -1)

    @_dsl
    def neg(self, rd, rs):
        """``neg rd, rs`` = ``sub rd, x0, rs``."""
        self._r("sub", rd, 0, rs)

    @_dsl
    def seqz(self, rd, rs):
        """``seqz rd, rs`` = ``sltiu rd, rs, 1``."""
        self._i("sltiu", rd, rs, 1)

    @_dsl
    def snez(self, rd, rs):
        """``snez rd, rs`` = ``sltu rd, x0, rs``."""
        self._r("sltu", rd, 0, rs)

    @_dsl
    def sltz(self, rd, rs):
        """``sltz rd, rs`` = ``slt rd, rs, x0``."""
        self._r("slt", rd, rs, 0)

    @_dsl
    def sgtz(self, rd, rs):
        """``sgtz rd, rs`` = ``slt rd, x0, rs``."""
        self._r("slt", rd, 0, rs)

    @_dsl
    def j(self, target):
        """``j target`` = ``jal x0, target``."""
        self.jal(0, target)

    @_dsl
    def jr(self, rs):
        """``jr rs`` = ``jalr x0, 0(rs)``."""
        self.jalr(0, rs, 0)

    @_dsl
    def ret(self):
        """``ret`` = ``jalr x0, 0(ra)``."""
        self.jalr(0, 1, 0)

    @_dsl
    def beqz(self, rs, target):
        """``beqz rs, t`` = ``beq rs, x0, t``."""
        self._branch("beq", rs, 0, target)

    @_dsl
    def bnez(self, rs, target):
        """``bnez rs, t`` = ``bne rs, x0, t``."""
        self._branch("bne", rs, 0, target)

    @_dsl
    def blez(self, rs, target):
        """``blez rs, t`` = ``bge x0, rs, t``."""
        self._branch("bge", 0, rs, target)

    @_dsl
    def bgez(self, rs, target):
        """``bgez rs, t`` = ``bge rs, x0, t``."""
        self._branch("bge", rs, 0, target)

    @_dsl
    def bltz(self, rs, target):
        """``bltz rs, t`` = ``blt rs, x0, t``."""
        self._branch("blt", rs, 0, target)

    @_dsl
    def bgtz(self, rs, target):
        """``bgtz rs, t`` = ``blt x0, rs, t``."""
        self._branch("blt", 0, rs, target)

    @_dsl
    def bgt(self, rs, rt, target):
        """``bgt rs, rt, t`` = ``blt rt, rs, t``."""
        self._branch("blt", rt, rs, target)

    @_dsl
    def ble(self, rs, rt, target):
        """``ble rs, rt, t`` = ``bge rt, rs, t``."""
        self._branch("bge", rt, rs, target)

    @_dsl
    def bgtu(self, rs, rt, target):
        """``bgtu rs, rt, t`` = ``bltu rt, rs, t``."""
        self._branch("bltu", rt, rs, target)

    @_dsl
    def bleu(self, rs, rt, target):
        """``bleu rs, rt, t`` = ``bgeu rt, rs, t``."""
        self._branch("bgeu", rt, rs, target)

    # -- output -----------------------------------------------------------------------------
    def assemble(self) -> Image:
        """Resolve forward references and return the :class:`Image`.

        Raises :class:`AsmError` (at the line of the offending instruction) for undefined
        symbols and out-of-range or misaligned targets.
        """
        data = bytearray()
        rows = []
        labels = {}
        for index, name in self._labels:
            if name.startswith(_LOCAL):
                name = name[len(_LOCAL):].split("$")[0]     # show numeric labels as written
            labels.setdefault(index, []).append(name)
        for index, item in enumerate(self._items):
            for name in labels.get(index, ()):
                rows.append(("label", item.addr, name, ""))
            chunk = item.data
            if chunk is None:
                try:
                    chunk = item.build(item.env(self._symbols))
                except _Problem as exc:
                    raise AsmError(str(exc), *item.loc) from None
            data += chunk
            rows.append((item.kind, item.addr, bytes(chunk), item.source))
        for name in labels.get(len(self._items), ()):
            rows.append(("label", self._pc, name, ""))
        symbols = {k: v for k, v in self._symbols.items() if not k.startswith(_LOCAL)}
        return Image(self._base, bytes(data), symbols, rows)


def _fence_set(spec):
    if isinstance(spec, int) and not isinstance(spec, bool):
        if 0 <= spec <= 15:
            return spec
        raise _Problem(f"fence set {spec} out of range (0..15)")
    text = str(spec).strip().lower()
    if text == "0":
        return 0
    bits = 0
    for ch in text:
        bit = {"i": 8, "o": 4, "r": 2, "w": 1}.get(ch)
        if bit is None or bits & bit:
            raise _Problem(f"bad fence set '{spec}' (letters from 'iorw', each at most once)")
        bits |= bit
    if not bits:
        raise _Problem("empty fence set (use letters from 'iorw')")
    return bits


def _make_base(name, helper, doc):
    def method(self, a, b, c):
        helper(self, name, a, b, c)
    method.__name__ = method.__qualname__ = name + ("_" if name in ("and", "or") else "")
    method.__doc__ = doc
    return _dsl(method)


for _name in _R_OPS:
    setattr(Program, _name + ("_" if _name in ("and", "or") else ""),
            _make_base(_name, Program._r, f"``{_name} rd, rs1, rs2`` (R-type)."))
for _name in _I_OPS:
    setattr(Program, _name, _make_base(
        _name, Program._i, f"``{_name} rd, rs1, imm`` (imm in -2048..2047)."))
for _name in _SHIFT_OPS:
    setattr(Program, _name, _make_base(
        _name, Program._shift, f"``{_name} rd, rs1, shamt`` (shamt in 0..31)."))
for _name in _LOAD_OPS:
    setattr(Program, _name, _make_base(
        _name, Program._load, f"``{_name} rd, offset(rs1)`` as ``{_name}(rd, offset, rs1)``."))
for _name in _STORE_OPS:
    setattr(Program, _name, _make_base(
        _name, Program._store, f"``{_name} rs2, offset(rs1)`` as ``{_name}(rs2, offset, rs1)``."))
for _name in _BRANCH_OPS:
    setattr(Program, _name, _make_base(
        _name, Program._branch, f"``{_name} rs1, rs2, target`` (within -4096..+4094 bytes)."))
del _name


# --------------------------------------------------------------------------------------------
# Text front end

def _split_top(text, sep):
    """Split ``text`` at ``sep`` outside quotes and parentheses."""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _strip_comment(line):
    quote, i = None, 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
        elif ch == "/" and line[i:i + 2] == "//":
            return line[:i]
        i += 1
    return line


_MEM = re.compile(r"(.*)\(\s*([A-Za-z0-9_]+)\s*\)\s*\Z", re.S)


def _mem(operand):
    m = _MEM.match(operand.strip())
    if not m:
        raise _Problem(f"expected a memory operand like 4(sp), got '{operand.strip()}'")
    offset = m.group(1).strip() or "0"
    return offset, m.group(2)


def _count(mnemonic, ops, *allowed, usage):
    if allowed == ("+",):
        if not ops:
            raise _Problem(f"'{mnemonic}' needs at least one operand ({usage})")
        return
    if len(ops) not in allowed:
        raise _Problem(f"'{mnemonic}' takes {' or '.join(map(str, allowed))} operand"
                       f"{'s' if allowed != (1,) else ''} ({usage}), got {len(ops)}")


def _string_literal(text):
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise _Problem(f"expected a string literal in double quotes, got '{text}'")
    try:
        value = ast.literal_eval("b" + text)
    except (ValueError, SyntaxError):
        raise _Problem(f"bad string literal {text}") from None
    return value


_SHAPES = {}
for _n in _R_OPS:
    _SHAPES[_n] = ("rrr", _n + ("_" if _n in ("and", "or") else ""), "rd, rs1, rs2")
for _n in list(_I_OPS) + list(_SHIFT_OPS):
    _SHAPES[_n] = ("rrr", _n, "rd, rs1, imm")
for _n in list(_LOAD_OPS):
    _SHAPES[_n] = ("rm", _n, "rd, offset(rs1)")
for _n in list(_STORE_OPS):
    _SHAPES[_n] = ("rm", _n, "rs2, offset(rs1)")
for _n in _BRANCH_OPS:
    _SHAPES[_n] = ("rrr", _n, "rs1, rs2, target")
for _n in ("bgt", "ble", "bgtu", "bleu"):
    _SHAPES[_n] = ("rrr", _n, "rs, rt, target")
for _n, _u in (("lui", "rd, imm20"), ("auipc", "rd, imm20"), ("li", "rd, value"),
               ("la", "rd, symbol"), ("mv", "rd, rs"), ("not", "rd, rs"), ("neg", "rd, rs"),
               ("seqz", "rd, rs"), ("snez", "rd, rs"), ("sltz", "rd, rs"), ("sgtz", "rd, rs"),
               ("beqz", "rs, target"), ("bnez", "rs, target"), ("blez", "rs, target"),
               ("bgez", "rs, target"), ("bltz", "rs, target"), ("bgtz", "rs, target")):
    _SHAPES[_n] = ("rr", _n + ("_" if _n == "not" else ""), _u)
for _n, _u in (("j", "target"), ("jr", "rs"), ("call", "target"), ("tail", "target")):
    _SHAPES[_n] = ("r", _n, _u)
for _n in ("ecall", "ebreak", "ret", "nop", "fence.tso"):
    _SHAPES[_n] = ("", _n.replace(".", "_"), "no operands")
del _n, _u


def _statement(p, stmt):
    """Assemble one statement (labels already stripped) into ``p``."""
    m = re.match(r"\s*([A-Za-z_.$][A-Za-z0-9_.$]*)", stmt)
    if not m:
        raise _Problem(f"cannot parse '{stmt.strip()}'")
    mnemonic = m.group(1).lower()
    rest = stmt[m.end():].strip()
    ops = [o.strip() for o in _split_top(rest, ",")] if rest else []
    if any(not o for o in ops):
        raise _Problem(f"empty operand in '{stmt.strip()}'")
    if mnemonic.startswith(".") and mnemonic != ".":
        return _directive(p, mnemonic, ops, rest)
    shape = _SHAPES.get(mnemonic)
    if shape is None:
        if mnemonic in ("jal", "jalr", "fence"):
            return _special(p, mnemonic, ops)
        raise _Problem(f"unknown mnemonic '{m.group(1)}'")
    kind, method, usage = shape
    fn = getattr(p, method)
    if kind == "rrr":
        _count(mnemonic, ops, 3, usage=usage)
        fn(*ops)
    elif kind == "rm":
        _count(mnemonic, ops, 2, usage=usage)
        offset, base = _mem(ops[1])
        fn(ops[0], offset, base)
    elif kind == "rr":
        _count(mnemonic, ops, 2, usage=usage)
        fn(*ops)
    elif kind == "r":
        _count(mnemonic, ops, 1, usage=usage)
        fn(ops[0])
    else:
        _count(mnemonic, ops, 0, usage=usage)
        fn()


def _special(p, mnemonic, ops):
    if mnemonic == "jal":
        _count("jal", ops, 1, 2, usage="[rd,] target")
        p.jal(*ops)
    elif mnemonic == "jalr":
        _count("jalr", ops, 1, 2, 3, usage="rs | rd, rs | rd, rs, imm | rd, imm(rs)")
        if len(ops) == 3:
            p.jalr(ops[0], ops[1], ops[2])
        elif "(" in ops[-1]:
            offset, base = _mem(ops[-1])
            p.jalr(ops[0] if len(ops) == 2 else "ra", base, offset)
        elif len(ops) == 2:
            p.jalr(ops[0], ops[1], 0)
        else:
            p.jalr(ops[0])
    else:
        _count("fence", ops, 0, 2, usage="[pred, succ]")
        p.fence(*ops)


_IGNORED = {".globl", ".global", ".text", ".data", ".bss", ".rodata", ".section", ".type",
            ".size", ".option", ".file", ".ident", ".attribute", ".local", ".weak", ".hidden",
            ".cfi_startproc", ".cfi_endproc", ".cfi_sections", ".previous", ".end"}


def _directive(p, name, ops, rest):
    if name in _IGNORED or name.startswith(".cfi_"):
        return
    if name in (".word", ".4byte", ".long", ".int"):
        _count(name, ops, "+", usage="values")
        p.word(*ops)
    elif name in (".half", ".2byte", ".short"):
        _count(name, ops, "+", usage="values")
        p.half(*ops)
    elif name == ".byte":
        _count(name, ops, "+", usage="values")
        p.byte(*ops)
    elif name in (".align", ".p2align", ".balign"):
        _count(name, ops, 1, 2, usage="n[, fill]")
        value = _Env(p._symbols, p.here).value(ops[0])
        if name == ".balign":
            p.align(value, *ops[1:])
        else:
            _check_range(value, 0, 16, f"{name} power of two")
            p.align(1 << value, *ops[1:])
    elif name in (".equ", ".set"):
        _count(name, ops, 2, usage="name, value")
        p.equ(ops[0], ops[1])
    elif name in (".zero", ".space", ".skip"):
        _count(name, ops, 1, 2, usage="size[, fill]")
        p.space(*ops)
    elif name in (".ascii", ".asciz", ".string"):
        _count(name, ops, "+", usage='"text"')
        for op in ops:
            p.ascii(_string_literal(op), zero=name != ".ascii")
    else:
        raise _Problem(f"unknown directive '{name}'")


_LABEL_DEF = re.compile(r"\s*([A-Za-z_.$][A-Za-z0-9_.$]*|[0-9]+)\s*:")
_LOCAL_REF = re.compile(r"(?<![\w.$'\\])([0-9]+)([bf])(?![\w.$'])")


def _local_refs(stmt, counts):
    """Replace GNU numeric label references (``1b``, ``1f``) by their internal names."""
    if re.match(r"\s*\.(ascii|asciz|string)\b", stmt, re.I):
        return stmt

    def sub(m):
        n, direction = int(m.group(1)), m.group(2)
        k = counts.get(n, 0)
        if direction == "b":
            if not k:
                raise _Problem(f"numeric label reference '{n}b' has no earlier '{n}:'")
            k -= 1
        return f"{_LOCAL}{n}${k}"
    return _LOCAL_REF.sub(sub, stmt)
_ASSIGN = re.compile(r"\s*([A-Za-z_.$][A-Za-z0-9_.$]*)\s*=(?!=)(.*)\Z", re.S)


def assemble_text(source: str, base: int = 0, filename: str = "<string>") -> Image:
    """Assemble GNU-syntax RV32I source text into an :class:`Image`.

    Supported: ``#`` and ``//`` comments, ``;`` statement separators, ``label:`` definitions,
    GNU numeric local labels (``1:`` referenced as ``1b``/``1f``), ``name = expr``, the RV32I instructions and pseudo-instructions of :class:`Program`, and the
    directives ``.word/.4byte/.long .half/.2byte/.short .byte .ascii/.asciz/.string
    .zero/.space .align/.p2align (power of two) .balign (bytes) .equ/.set``. Section and symbol
    directives (``.text .data .section .globl .type .size .option ...``) are accepted and
    ignored: the image is one flat section.
    """
    p = Program(base=base)
    counts = {}                       # numeric local label -> definitions so far
    try:
        for lineno, raw in enumerate(source.splitlines(), 1):
            p._text_loc = (filename, lineno)
            p._text_source = raw.strip()
            try:
                for stmt in _split_top(_strip_comment(raw), ";"):
                    while True:
                        m = _LABEL_DEF.match(stmt)
                        if not m:
                            break
                        name = m.group(1)
                        if name.isdigit():
                            n = int(name)
                            name = f"{_LOCAL}{n}${counts.get(n, 0)}"
                            counts[n] = counts.get(n, 0) + 1
                        p.label(name)
                        stmt = stmt[m.end():]
                    if not stmt.strip():
                        continue
                    stmt = _local_refs(stmt, counts)
                    m = _ASSIGN.match(stmt)
                    if m:
                        p.equ(m.group(1), m.group(2).strip())
                        continue
                    _statement(p, stmt)
            except _Problem as exc:
                raise AsmError(str(exc), filename, lineno) from None
    finally:
        p._text_loc = p._text_source = None
    return p.assemble()


def assemble_file(path, base: int = 0) -> Image:
    """Read and assemble a ``.s`` file (errors name the file as given)."""
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return assemble_text(text, base=base, filename=path)
