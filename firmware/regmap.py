"""Register-map generators: Markdown, JSON, C header and firmware constants from one declaration.

Every output is computed from a :class:`~guillotine.hdl.memory_map.CSRMap` (default:
:func:`~guillotine.hdl.memory_map.soc_csr_map`) and the memory maps of
:mod:`guillotine.hdl.memory_map`; nothing here holds an address of its own.

Constant names (the same in Python, the assembler DSL, JSON-derived tools and C, where they get a
``GUILLOTINE_`` prefix):

- ``HV_<REGION>_BASE`` / ``HV_<REGION>_SIZE`` — hypervisor address space (``HV_CSR_BASE``, ...)
- ``MODEL_<REGION>_BASE`` / ``MODEL_<REGION>_SIZE`` — a model's address space
- ``<BLOCK>_BASE`` — absolute address of a register block (``LATCH_BASE``)
- ``<BLOCK>_<REGISTER>`` — absolute address of a register (``LATCH_LEVEL = 0x4000_0000``)
- ``<BLOCK>_<REGISTER>_<FIELD>_SHIFT`` / ``_MASK`` — a field's bit offset and its in-place mask

Use from firmware::

    from guillotine.firmware import regmap
    p = Program()
    regmap.add_to_program(p)            # p.equ() for every constant
    p.li("t0", "LATCH_REQUEST")

``guillotine regs --format md|json|c|py`` prints any of these (:func:`render`).
"""

import json

from guillotine import GuillotineError
from guillotine.hdl.memory_map import CSRMap, Placement, memory_map, soc_csr_map
from guillotine.hdl.regs import Access, Field, Register, RegisterBlock

__all__ = ["FORMATS", "SCHEMA", "constants", "add_to_program", "markdown", "to_dict", "to_json",
           "from_json", "c_header", "python_module", "render"]

#: Output formats of :func:`render` (and ``guillotine regs --format``).
FORMATS = ("md", "json", "c", "py")
#: Identifier of the JSON schema written by :func:`to_json`; bumped on any incompatible change.
SCHEMA = "guillotine-regmap/1"

_SPACE_PREFIX = {"hypervisor": "HV", "model": "MODEL"}


def _defaults(csr_map, n_models):
    return soc_csr_map(n_models) if csr_map is None else csr_map


def _entries(csr_map, n_models):
    """``[(name, value, comment)]`` in output order; names are unique (checked)."""
    out = []
    for domain, regions in memory_map(n_models).items():
        prefix = _SPACE_PREFIX[domain]
        for r in regions:
            out.append((f"{prefix}_{r.name}_BASE", r.base, f"{domain}: {r.doc}"))
            out.append((f"{prefix}_{r.name}_SIZE", r.size, ""))
    for p in csr_map:
        base = csr_map.base + p.offset
        out.append((f"{p.name}_BASE", base, p.block.doc))
        for reg in p.block.registers:
            out.append((f"{p.name}_{reg.name.upper()}", base + reg.offset, reg.doc))
            for f in reg.fields:
                stem = f"{p.name}_{reg.name.upper()}_{f.name.upper()}"
                out.append((f"{stem}_SHIFT", f.offset, f"{f.access.value}: {f.doc}"))
                out.append((f"{stem}_MASK", f.mask, ""))
    seen = set()
    for name, _, _ in out:
        if name in seen:
            raise GuillotineError(f"constant {name} is defined twice (a memory-map region and a "
                                  f"CSR block name collide); rename the block")
        seen.add(name)
    return out


def constants(csr_map=None, n_models=2):
    """All constants as an ordered ``{name: int}`` dict (see the module docstring for names)."""
    return {name: value for name, value, _ in _entries(_defaults(csr_map, n_models), n_models)}


def add_to_program(program, csr_map=None, n_models=2):
    """``program.equ(name, value)`` for every constant; returns the dict that was added.

    ``program`` is a :class:`guillotine.firmware.asm.Program`. A constant that the program
    already defines raises its usual duplicate-symbol :class:`~guillotine.firmware.asm.AsmError`.
    """
    values = constants(csr_map, n_models)
    for name, value in values.items():
        program.equ(name, value)
    return values


def _hex(value):
    return f"`{value >> 16:#06x}_{value & 0xFFFF:04x}`"


def _region_table(regions):
    lines = ["| region | base | end | size | description |", "|---|---|---|---|---|"]
    for r in regions:
        lines.append(f"| {r.name} | {_hex(r.base)} | {_hex(r.end)} | {r.size:#x} | {r.doc} |")
    return lines


def markdown(csr_map=None, n_models=2):
    """A Markdown page: both memory maps, the CSR space, then every block with its fields."""
    csr_map = _defaults(csr_map, n_models)
    spaces = memory_map(n_models)
    lines = [
        "# Register and memory maps", "",
        f"Generated from `hdl/memory_map.py` and the blocks' `RegisterBlock` declarations for "
        f"{n_models} model core{'s' if n_models != 1 else ''} (`guillotine regs --format "
        f"md|json|c|py --n-models N` prints this map in other forms). Firmware constants: "
        f"`<BLOCK>_<REGISTER>` is a register's absolute address, "
        f"`<BLOCK>_<REGISTER>_<FIELD>_SHIFT`/`_MASK` locate a field "
        f"(`guillotine.firmware.regmap`; C: `GUILLOTINE_` prefix).", "",
        "## Hypervisor address space", "",
        *_region_table(spaces["hypervisor"]), "",
        "## Model address space", "",
        "Every model core sees the same map. Any other address answers with a bus error and a "
        "violation pulse; no model bus decodes a hypervisor address.", "",
        *_region_table(spaces["model"]), "",
        f"## CSR space ({_hex(csr_map.base)})", "",
        "Bus access (`CSRBridge`): full 32-bit words; one wait state. An address outside every "
        "register, a write with `sel != 0b1111` and a write to a read-only register answer with "
        "a bus error and change nothing. A new block is one line in `CSR_LAYOUT` "
        "(`hdl/memory_map.py`, whose docstring lists the steps and the reserved offsets).", "",
        "| block | base | end | description |", "|---|---|---|---|",
    ]
    for p in csr_map:
        base = csr_map.base + p.offset
        lines.append(f"| {p.name} | {_hex(base)} | "
                     f"{_hex(base + p.span - 1)} | {p.block.doc} |")
    lines.append("")
    lines.append("Access: R read-only · W write-only (reads as 0) · RW read/write · RW1C write 1 "
                 "to clear · RW1S write 1 to set · LOCK read/write until the block's lock bit is "
                 "set, then read-only until reset.")
    lines.append("")
    for p in csr_map:
        lines.append(p.block.markdown(base=csr_map.base + p.offset, name=p.name, level=2))
    return "\n".join(lines).rstrip() + "\n"


def to_dict(csr_map=None, n_models=2):
    """The map as plain data (the JSON schema :data:`SCHEMA`; see :func:`to_json`)."""
    csr_map = _defaults(csr_map, n_models)
    return {
        "schema": SCHEMA,
        "n_models": n_models,
        "address_spaces": {
            domain: [{"name": r.name, "base": r.base, "size": r.size, "doc": r.doc}
                     for r in regions]
            for domain, regions in memory_map(n_models).items()},
        "csr_space": {"base": csr_map.base, "size": csr_map.size},
        "blocks": [{
            "name": p.name,
            "block": p.block.name,
            "offset": p.offset,
            "address": csr_map.base + p.offset,
            "size": p.block.size,
            "doc": p.block.doc,
            "registers": [{
                "name": reg.name,
                "offset": reg.offset,
                "address": csr_map.base + p.offset + reg.offset,
                "reset": reg.reset,
                "doc": reg.doc,
                "fields": [{"name": f.name, "offset": f.offset, "width": f.width,
                            "access": f.access.value, "reset": f.reset, "doc": f.doc}
                           for f in reg.fields],
            } for reg in p.block.registers],
        } for p in csr_map],
    }


def to_json(csr_map=None, n_models=2):
    """JSON text of :func:`to_dict`: stable key order, 2-space indent, numbers as integers.

    Schema :data:`SCHEMA`::

        {"schema", "n_models",
         "address_spaces": {"hypervisor"|"model": [{"name", "base", "size", "doc"}]},
         "csr_space": {"base", "size"},
         "blocks": [{"name", "block", "offset", "address", "size", "doc",
                     "registers": [{"name", "offset", "address", "reset", "doc",
                                    "fields": [{"name", "offset", "width", "access",
                                                "reset", "doc"}]}]}]}

    ``offset`` is relative to the enclosing block (or CSR space); ``address`` is absolute.
    """
    return json.dumps(to_dict(csr_map, n_models), indent=2, ensure_ascii=False) + "\n"


def from_json(text):
    """Rebuild the :class:`~guillotine.hdl.memory_map.CSRMap` from :func:`to_json` output.

    The declarations are validated again (a hand-edited file with overlapping blocks fails as
    the Python declaration would). Raises :class:`~guillotine.GuillotineError` on any problem.
    """
    try:
        data = json.loads(text)
        if data.get("schema") != SCHEMA:
            raise GuillotineError(f"register map schema {data.get('schema')!r} is not {SCHEMA}")
        placements = []
        for b in data["blocks"]:
            regs = tuple(
                Register(r["name"], r["offset"], tuple(
                    Field(f["name"], f["offset"], f["width"], Access(f["access"]), f["reset"],
                          f["doc"]) for f in r["fields"]), r["doc"])
                for r in b["registers"])
            placements.append(Placement(b["name"], b["offset"],
                                        RegisterBlock(b["block"], regs, b["size"], b["doc"])))
        space = data["csr_space"]
        return CSRMap(placements, base=space["base"], size=space["size"])
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise GuillotineError(f"not a {SCHEMA} register map: {type(exc).__name__}: {exc}") from None
    except ValueError as exc:              # GuillotineError, or a bad Access value
        raise GuillotineError(f"bad register map: {exc}") from None


def _c_comment(text):
    text = " ".join(text.replace("*/", "* /").split())
    return f" /* {text} */" if text else ""


def c_header(csr_map=None, n_models=2, guard="GUILLOTINE_REGS_H"):
    """A C header: include guard, ``GUILLOTINE_``-prefixed ``#define``s, an MMIO access macro."""
    csr_map = _defaults(csr_map, n_models)
    lines = [
        "/* Guillotine SoC register and memory maps.",
        " * Generated by `guillotine regs --format c` from hdl/memory_map.py and the RegisterBlock",
        f" * declarations ({n_models} model cores); do not edit by hand. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        "/* A 32-bit memory-mapped register; only full-word accesses are supported. */",
        "#define GUILLOTINE_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))",
    ]
    block_starts = {f"{p.name}_BASE" for p in csr_map} | {"HV_ROM_BASE", "MODEL_RAM_BASE"}
    for name, value, comment in _entries(csr_map, n_models):
        if name in block_starts:
            lines.append("")
        text = f"{value}u" if name.endswith("_SHIFT") else f"{value:#010x}u"
        lines.append(f"#define GUILLOTINE_{name} {text}{_c_comment(comment)}")
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def python_module(csr_map=None, n_models=2):
    """Python source defining every constant (for tools outside this package)."""
    csr_map = _defaults(csr_map, n_models)
    lines = ['"""Guillotine SoC register and memory maps (generated by `guillotine regs --format '
             'py`; do not edit)."""', ""]
    for name, value, comment in _entries(csr_map, n_models):
        text = " ".join(comment.split())
        value = f"{value}" if name.endswith("_SHIFT") else f"{value:#010x}"
        lines.append(f"{name} = {value}" + (f"  # {text}" if text else ""))
    return "\n".join(lines) + "\n"


def render(fmt, n_models=2, csr_map=None):
    """The map in format ``fmt`` (one of :data:`FORMATS`) as text."""
    makers = {"md": markdown, "json": to_json, "c": c_header, "py": python_module}
    if fmt not in makers:
        raise GuillotineError(f"unknown register map format {fmt!r}; valid: {', '.join(FORMATS)}")
    return makers[fmt](csr_map, n_models)
