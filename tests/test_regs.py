"""Registers declared once: memory maps, CSR map validation, the CSR bridge, and the generators."""

import json
import shutil
import subprocess

import pytest
from amaranth import Module
from amaranth.hdl import Fragment
from amaranth.lib import wiring

from guillotine import GuillotineError
from guillotine.firmware import regmap
from guillotine.firmware.asm import AsmError, Program
from guillotine.hdl import memory_map as mm
from guillotine.hdl.csr_bridge import CSRBridge
from guillotine.hdl.kill_latch import LATCH_REGISTERS, KillLatch, Level
from guillotine.hdl.memory_map import (CSR_LAYOUT, CSR_RESERVED, CSRMap, Region, build_csr_map,
                                       memory_map, soc_csr_map)
from guillotine.hdl.regs import Access, CSRSignature, Field, Register, RegisterBlock
from guillotine.sim.amaranth_sim import simulate
from guillotine.sim.isa import Machine

# -- test blocks ----------------------------------------------------------------------------------

ALPHA = RegisterBlock("ALPHA", (
    Register("CTRL", 0x0, (Field("go", 0, 1, Access.RW), Field("mode", 4, 4, Access.RW, 5)),
             "control"),
    Register("STATUS", 0x8, (Field("busy", 0, 1, Access.R),), "status (read-only)"),
    Register("CMD", 0xC, (Field("op", 0, 8, Access.W),), "command (write-only)"),
), size=0x10, doc="test block alpha")

BETA = RegisterBlock("BETA", (
    Register("DATA", 0x0, (Field("value", 0, 32, Access.RW),), "data"),
    Register("ID", 0x1FC, (Field("id", 0, 32, Access.R, 0x1234),), "identity"),
), size=0x200, doc="test block beta")

TEST_MAP = CSRMap([("ALPHA", 0x000, ALPHA), ("BETA", 0x200, BETA), ("ALPHA2", 0x800, ALPHA)],
                  size=0x1000)


def one_register(block_name, reg_name, field_name="x"):
    return RegisterBlock(block_name, (Register(reg_name, 0, (Field(field_name, 0, 1, Access.RW),)),))


# -- memory maps ----------------------------------------------------------------------------------

def test_memory_maps_match_design_section_3():
    spaces = memory_map(4)
    hv = {r.name: r for r in spaces["hypervisor"]}
    assert hv["ROM"].base == 0x0000_0000 and hv["RAM"].base == 0x1000_0000
    assert hv["CSR"].base == 0x4000_0000 == mm.CSR_BASE
    assert [hv[f"MODEL{n}_WINDOW"].base for n in range(4)] == \
        [0x2000_0000 + n * 0x0100_0000 for n in range(4)]
    model = {r.name: r for r in spaces["model"]}
    assert model["RAM"].base == 0 and model["MAILBOX"].base == 0x8000_0000
    assert all(r.domain == "hypervisor" for r in spaces["hypervisor"])
    assert all(r.domain == "model" for r in spaces["model"])
    assert len([r for r in memory_map(1)["hypervisor"] if "WINDOW" in r.name]) == 1
    assert hv["CSR"].contains(0x4000_fffc) and not hv["CSR"].contains(0x4001_0000)


@pytest.mark.parametrize("n", [0, 5, "2", True, 1.0])
def test_bad_model_count_is_one_clear_error(n):
    with pytest.raises(GuillotineError, match=r"n_models must be an integer in 1\.\.4"):
        memory_map(n)
    with pytest.raises(GuillotineError, match="n_models"):
        soc_csr_map(n)


def test_memory_map_rejects_overlapping_regions(monkeypatch):
    monkeypatch.setattr(mm, "model_map", lambda: (
        Region("RAM", 0, 0x2000, "model"), Region("MAILBOX", 0x1000, 0x100, "model")))
    with pytest.raises(GuillotineError, match="model regions RAM .* and MAILBOX .* overlap"):
        memory_map(2)


def test_region_validation():
    with pytest.raises(GuillotineError, match="upper-case"):
        Region("rom", 0, 4, "hypervisor")
    with pytest.raises(GuillotineError, match="domain"):
        Region("ROM", 0, 4, "network")
    with pytest.raises(GuillotineError, match="32-bit address space"):
        Region("ROM", 0xFFFF_FFFC, 8, "hypervisor")


# -- CSR map --------------------------------------------------------------------------------------

def test_soc_csr_map_places_the_latch_at_the_csr_base():
    m = soc_csr_map()
    assert [p.name for p in m] == ["LATCH", "MODELCTL", "UART", "TIMER", "LEDS", "GATE0",
                                   "GATE1"]
    assert [p.name for p in soc_csr_map(network=False)][-1] == "LEDS"
    assert m["LATCH"].block is LATCH_REGISTERS
    assert m.address("LATCH", "LEVEL") == 0x4000_0000
    assert m.address("LATCH", "REQUEST") == 0x4000_0008
    assert m.addr_width == 14 and m.size == 0x1_0000


def test_layout_uses_the_reserved_offsets():
    """A block that has a reserved slot must use it (keeps firmware addresses stable)."""
    for entry in CSR_LAYOUT:
        name, offset = entry[0], entry[1]
        if name in CSR_RESERVED:
            assert offset == CSR_RESERVED[name], name
        assert "{n}" not in name or len(entry) == 4, name
    offsets = sorted(CSR_RESERVED.values())
    assert all(b - a >= mm.CSR_SLOT for a, b in zip(offsets, offsets[1:]))


def test_overlapping_blocks_name_both():
    with pytest.raises(GuillotineError, match=r"CSR blocks BETA \(0x0..0x1ff\) and ALPHA "
                                              r"\(0x100..0x1ff\) overlap"):
        CSRMap([("BETA", 0x000, BETA), ("ALPHA", 0x100, ALPHA)])


def test_duplicate_block_names_name_both():
    with pytest.raises(GuillotineError, match=r"two CSR blocks named ALPHA: at 0x0 \(ALPHA\) and "
                                              r"at 0x300 \(BETA\)"):
        CSRMap([("ALPHA", 0x000, ALPHA), ("ALPHA", 0x300, BETA)])


def test_constant_name_collision_after_prefixing_names_both():
    with pytest.raises(GuillotineError, match=r"constant name A_B_C is used twice: by register "
                                              r"A_B\.C and by register A\.B_C"):
        CSRMap([("A_B", 0x000, one_register("X", "C")), ("A", 0x100, one_register("Y", "B_C"))])
    # a register named BASE would shadow the block's base address constant
    with pytest.raises(GuillotineError, match="constant name A_BASE"):
        CSRMap([("A", 0x000, one_register("X", "BASE"))])


@pytest.mark.parametrize("placement, message", [
    (("ALPHA", 0x80, ALPHA), "not a multiple of 0x100"),
    (("BETA", 0x100, BETA), "not a multiple of 0x200"),
    (("ALPHA", 0x1_0000, ALPHA), "outside the 0x10000-byte CSR space"),
    (("ALPHA", -0x100, ALPHA), "not a non-negative integer"),
    (("alpha", 0, ALPHA), "not an upper-case identifier"),
    (("ALPHA", 0, "ALPHA"), "is not a RegisterBlock"),
    (("ALPHA", 0), "is \\(name, offset, RegisterBlock\\)"),
])
def test_bad_placements(placement, message):
    with pytest.raises(GuillotineError, match=message):
        CSRMap([placement])


def test_csr_map_indexing_and_space_checks():
    assert [p.name for p in TEST_MAP] == ["ALPHA", "BETA", "ALPHA2"]
    assert TEST_MAP["BETA"].span == 0x200 and TEST_MAP["ALPHA"].span == 0x100
    with pytest.raises(GuillotineError, match="no block 'GAMMA'; blocks: ALPHA, BETA, ALPHA2"):
        TEST_MAP["GAMMA"]
    with pytest.raises(GuillotineError, match="power of two"):
        CSRMap([], size=0x3000)
    with pytest.raises(GuillotineError, match="multiple of its size"):
        CSRMap([], base=0x4000_0100)


def test_build_csr_map_per_model_blocks_and_overrides():
    layout = [("LATCH", 0x000, "guillotine.hdl.kill_latch:LATCH_REGISTERS"),
              ("GATE{n}", 0x1000, BETA, 0x200)]
    m = build_csr_map(layout, n_models=3)
    assert [(p.name, p.offset) for p in m] == [
        ("LATCH", 0), ("GATE0", 0x1000), ("GATE1", 0x1200), ("GATE2", 0x1400)]
    small = KillLatch(n_keys=5, k=3)
    m2 = soc_csr_map(blocks={"LATCH": small.registers})
    assert m2["LATCH"].block is small.registers
    bridge, top = CSRBridge(m2), Module()
    top.submodules.bridge, top.submodules.latch = bridge, small
    wiring.connect(top, bridge.csr_latch, small.csr)                 # signatures agree
    Fragment.get(top, None)
    with pytest.raises(GuillotineError, match="no CSR layout entry named SPI"):
        soc_csr_map(blocks={"SPI": ALPHA})


@pytest.mark.parametrize("entry, message", [
    (("UART", 0x200, "guillotine.hdl.no_such_module:UART_REGISTERS"),
     "UART: module guillotine.hdl.no_such_module not found"),
    (("UART", 0x200, "guillotine.hdl.kill_latch:UART_REGISTERS"),
     "UART: guillotine.hdl.kill_latch has no UART_REGISTERS"),
    (("UART", 0x200, "guillotine.hdl.kill_latch:KillLatch"), "is not a RegisterBlock"),
    (("UART", 0x200, "no colon"), "neither a RegisterBlock nor 'module:ATTRIBUTE'"),
    (("GATE{n}", 0x1000, BETA), "per-model block"),
    (("GATE", 0x1000, BETA, 0x100), "per-model block"),
])
def test_layout_entries_that_do_not_resolve_are_errors(entry, message):
    with pytest.raises(GuillotineError, match=message):
        build_csr_map([entry])


# -- CSR bridge -----------------------------------------------------------------------------------

def test_bridge_members_follow_the_map():
    bridge = CSRBridge(TEST_MAP)
    sig = bridge.signature.members
    assert set(sig) == {"bus", "csr_alpha", "csr_beta", "csr_alpha2"}
    assert sig["bus"].signature.addr_width == TEST_MAP.addr_width == 10
    assert sig["csr_alpha"].signature == CSRSignature(ALPHA.addr_width)
    assert sig["csr_beta"].signature == CSRSignature(BETA.addr_width)
    assert bridge.port("BETA") is bridge.csr_beta
    assert bridge.csr_map is TEST_MAP
    Fragment.get(bridge, None)
    with pytest.raises(TypeError, match="needs a CSRMap"):
        CSRBridge([("ALPHA", 0, ALPHA)])


class BusDriver:
    """One-transfer-at-a-time initiator for a CSRBridge's bus."""

    def __init__(self, ctx, bridge):
        self.ctx, self.bridge, self.bus = ctx, bridge, bridge.bus
        self.ports = {p.name: getattr(bridge, p.member) for p in bridge.csr_map}

    async def transfer(self, word, we=0, data=0, sel=0b1111):
        """Run one transfer; return (ack, err, dat_r, strobes seen in the request cycle)."""
        ctx, bus = self.ctx, self.bus
        for signal, value in ((bus.adr, word), (bus.we, we), (bus.dat_w, data), (bus.sel, sel),
                              (bus.cyc, 1), (bus.stb, 1)):
            ctx.set(signal, value)
        assert not ctx.get(bus.ack) and not ctx.get(bus.err)     # never answers combinationally
        strobes = {name: (ctx.get(port.addr), ctx.get(port.w_data))
                   for name, port in self.ports.items() if ctx.get(port.w_stb)}
        await ctx.tick()
        ack, err, dat_r = ctx.get(bus.ack), ctx.get(bus.err), ctx.get(bus.dat_r)
        # answer cycle: the request is still held, but it is not a second transfer
        assert not any(ctx.get(port.w_stb) for port in self.ports.values())
        ctx.set(bus.cyc, 0)
        ctx.set(bus.stb, 0)
        await ctx.tick()
        assert not ctx.get(bus.ack) and not ctx.get(bus.err)
        return ack, err, dat_r, strobes


def expected_decode(csr_map, word):
    """(placement, register) at CSR word address ``word``, or (None, None)."""
    for p in csr_map:
        for reg in p.block.registers:
            if (p.offset + reg.offset) // 4 == word:
                return p, reg
    return None, None


def test_bridge_decodes_every_word_of_the_space():
    """Exhaustive over a 4 KiB space: ack exactly on declared registers, err everywhere else."""
    dut = CSRBridge(TEST_MAP)
    tags = {"ALPHA": 0xA1A1_0000, "BETA": 0xBE7A_0000, "ALPHA2": 0xA2A2_0000}

    async def bench(ctx):
        drv = BusDriver(ctx, dut)
        for name, port in drv.ports.items():
            ctx.set(port.r_data, tags[name])
        for word in range(TEST_MAP.size // 4):
            p, reg = expected_decode(TEST_MAP, word)
            ack, err, dat_r, strobes = await drv.transfer(word)
            assert (ack, err) == ((1, 0) if p else (0, 1)), f"read {word * 4:#x}"
            assert strobes == {}
            assert dat_r == (tags[p.name] if p else 0), f"read {word * 4:#x}"
            data = 0x5000_0000 | word
            ack, err, dat_r, strobes = await drv.transfer(word, we=1, data=data)
            if p is not None and reg.writable:
                assert (ack, err) == (1, 0), f"write {word * 4:#x}"
                assert strobes == {p.name: (reg.offset // 4, data)}, f"write {word * 4:#x}"
            else:
                assert (ack, err) == (0, 1), f"write {word * 4:#x}"
                assert strobes == {}, f"write {word * 4:#x}"
            assert dat_r == 0

    simulate(dut, bench)


def test_bridge_refuses_partial_writes_but_not_partial_reads():
    dut = CSRBridge(TEST_MAP)
    beta_data = TEST_MAP["BETA"].offset // 4

    async def bench(ctx):
        drv = BusDriver(ctx, dut)
        ctx.set(drv.ports["BETA"].r_data, 0xCAFE_F00D)
        for sel in range(16):
            ack, err, _, strobes = await drv.transfer(beta_data, we=1, data=1, sel=sel)
            assert (ack, err, bool(strobes)) == ((1, 0, True) if sel == 0b1111 else (0, 1, False))
            ack, err, dat_r, _ = await drv.transfer(beta_data, sel=sel)
            assert (ack, err, dat_r) == (1, 0, 0xCAFE_F00D)

    simulate(dut, bench)


def test_bridge_back_to_back_transfers_take_two_cycles_each():
    """cyc/stb held high: each transfer is decoded in its first cycle and answered in its second."""
    dut = CSRBridge(TEST_MAP)
    beta = TEST_MAP["BETA"].offset // 4

    async def bench(ctx):
        bus, port = dut.bus, dut.csr_beta
        for signal, value in ((bus.cyc, 1), (bus.stb, 1), (bus.sel, 0b1111), (bus.we, 1)):
            ctx.set(signal, value)
        for i in range(3):
            ctx.set(bus.adr, beta)              # cycle 1 of a write to BETA.DATA
            ctx.set(bus.dat_w, i)
            assert ctx.get(port.w_stb) and not ctx.get(bus.ack)
            await ctx.tick()                    # cycle 2: answered, no second strobe
            assert ctx.get(bus.ack) and not ctx.get(bus.err) and not ctx.get(port.w_stb)
            await ctx.tick()
            ctx.set(bus.adr, 0x3FF)             # next transfer, to a hole
            assert not ctx.get(port.w_stb) and not ctx.get(bus.ack)
            await ctx.tick()
            assert ctx.get(bus.err) and not ctx.get(bus.ack)
            await ctx.tick()

    simulate(dut, bench)


def test_bridge_drives_the_kill_latch():
    """Firmware-visible path: a bus write to LATCH.REQUEST raises the level; LEVEL reads it."""
    csr_map = soc_csr_map()
    bridge, latch = CSRBridge(csr_map), KillLatch()
    top = Module()
    top.submodules.bridge, top.submodules.latch = bridge, latch
    wiring.connect(top, bridge.csr_latch, latch.csr)
    word = {reg.name: (csr_map.address("LATCH", reg.name) - csr_map.base) // 4
            for reg in LATCH_REGISTERS.registers}
    level = LATCH_REGISTERS["LEVEL"].field("level")

    async def bench(ctx):
        drv = BusDriver(ctx, bridge)
        ack, _, dat_r, _ = await drv.transfer(word["LEVEL"])
        assert ack and (dat_r & level.mask) >> level.offset == Level.STANDARD
        ack, err, _, _ = await drv.transfer(word["REQUEST"], we=1, data=Level.OFFLINE, sel=0b0001)
        assert err and not ack and ctx.get(latch.level) == Level.STANDARD   # refused
        ack, err, _, _ = await drv.transfer(word["LEVEL"], we=1, data=Level.IMMOLATION)
        assert err and ctx.get(latch.level) == Level.STANDARD               # read-only register
        ack, _, _, _ = await drv.transfer(word["REQUEST"], we=1, data=Level.OFFLINE)
        assert ack and ctx.get(latch.level) == Level.OFFLINE
        ack, _, dat_r, _ = await drv.transfer(word["LEVEL"])
        assert ack and (dat_r & level.mask) >> level.offset == Level.OFFLINE
        ack, _, dat_r, _ = await drv.transfer(word["CAUSE"])
        assert ack and dat_r == 1                                            # firmware cause

    simulate(top, bench)


def test_csr_signature_equality():
    assert CSRSignature(4) == CSRSignature(4) != CSRSignature(5)
    assert hash(CSRSignature(4)) == hash(CSRSignature(4))
    with pytest.raises(TypeError, match="positive integer"):
        CSRSignature(0)


# -- generators -----------------------------------------------------------------------------------

def test_constants_names_and_values():
    c = regmap.constants(TEST_MAP)
    assert c["ALPHA_BASE"] == 0x4000_0000 and c["ALPHA2_BASE"] == 0x4000_0800
    assert c["ALPHA_CTRL"] == 0x4000_0000 and c["ALPHA_STATUS"] == 0x4000_0008
    assert c["BETA_ID"] == 0x4000_03FC and c["ALPHA2_CMD"] == 0x4000_080C
    assert c["ALPHA_CTRL_MODE_SHIFT"] == 4 and c["ALPHA_CTRL_MODE_MASK"] == 0xF0
    assert c["BETA_DATA_VALUE_MASK"] == 0xFFFF_FFFF
    assert c["HV_CSR_BASE"] == 0x4000_0000 and c["MODEL_MAILBOX_BASE"] == 0x8000_0000
    assert c["HV_MODEL1_WINDOW_BASE"] == 0x2100_0000 and "HV_MODEL2_WINDOW_BASE" not in c
    soc = regmap.constants()
    assert soc["LATCH_LEVEL"] == 0x4000_0000 and soc["LATCH_REQUEST_LEVEL_MASK"] == 0x7
    # every register of the SoC map has its absolute address
    for p in soc_csr_map():
        for reg in p.block.registers:
            assert soc[f"{p.name}_{reg.name}"] == soc_csr_map().address(p.name, reg.name)


def test_region_name_collision_with_a_block_is_an_error():
    clash = CSRMap([("HV", 0, one_register("X", "CSR_BASE"))])
    with pytest.raises(GuillotineError, match="constant HV_CSR_BASE is defined twice"):
        regmap.constants(clash)


def test_firmware_uses_the_constants_in_the_assembler():
    """A program built from the constants stores to the latch's REQUEST address."""
    p = Program()
    added = regmap.add_to_program(p)
    assert added == regmap.constants()
    p.li("t0", "LATCH_REQUEST")
    p.li("t1", f"{int(Level.SEVERANCE)} << LATCH_REQUEST_LEVEL_SHIFT")
    p.sw("t1", 0, "t0")
    p.li("t2", "LATCH_LEVEL_STATE_MASK")
    p.ebreak()
    stores = []
    m = Machine(image=p.assemble().data,
                store_hook=lambda addr, value, size: stores.append((addr, value, size)) or True)
    m.run(20)
    assert stores == [(0x4000_0008, 2, 4)]
    assert m.regs[7] == 0x7F00
    with pytest.raises(AsmError, match="duplicate symbol 'HV_ROM_BASE'"):
        regmap.add_to_program(p)


def test_json_round_trip_and_schema():
    text = regmap.to_json(TEST_MAP, n_models=3)
    data = json.loads(text)
    assert data["schema"] == regmap.SCHEMA and data["n_models"] == 3
    assert [r["name"] for r in data["address_spaces"]["model"]] == ["RAM", "MAILBOX"]
    assert [b["name"] for b in data["blocks"]] == ["ALPHA", "BETA", "ALPHA2"]
    alpha2 = data["blocks"][2]
    assert alpha2["block"] == "ALPHA" and alpha2["address"] == 0x4000_0800
    ctrl = alpha2["registers"][0]
    assert ctrl["address"] == 0x4000_0800 and ctrl["reset"] == 0x50
    assert ctrl["fields"][1] == {"name": "mode", "offset": 4, "width": 4, "access": "RW",
                                 "reset": 5, "doc": ""}
    back = regmap.from_json(text)
    assert back == TEST_MAP
    assert regmap.to_json(back, n_models=3) == text
    assert regmap.from_json(regmap.to_json()) == soc_csr_map()


def test_from_json_rejects_bad_maps():
    data = json.loads(regmap.to_json(TEST_MAP))
    data["blocks"][2]["offset"] = 0x300                      # hand-edited: ALPHA2 into BETA
    with pytest.raises(GuillotineError, match="CSR blocks BETA .* and ALPHA2 .* overlap"):
        regmap.from_json(json.dumps(data))
    data["blocks"][2]["offset"] = 0x800
    data["blocks"][0]["registers"][0]["fields"][0]["access"] = "RWX"
    with pytest.raises(GuillotineError, match="bad register map"):
        regmap.from_json(json.dumps(data))
    with pytest.raises(GuillotineError, match="schema"):
        regmap.from_json(json.dumps({"schema": "other/1"}))
    with pytest.raises(GuillotineError, match="not a guillotine-regmap/1 register map"):
        regmap.from_json("{")


def test_markdown_lists_every_register_with_its_absolute_address():
    text = regmap.markdown(TEST_MAP)
    for heading in ("## Hypervisor address space", "## Model address space", "## CSR space"):
        assert heading in text
    for p in TEST_MAP:
        assert f"## {p.name} at `{TEST_MAP.base + p.offset:#010x}`" in text
        for reg in p.block.registers:
            assert f"| `{TEST_MAP.address(p.name, reg.name):#010x}` | `{reg.offset:#04x}` | " \
                   f"{reg.name} |" in text
            assert f"### {p.name}.{reg.name} (`{reg.offset:#04x}`)" in text
            for f in reg.fields:
                assert f"| {f.name} | {f.access.value} |" in text
    soc = regmap.markdown()
    for reg in LATCH_REGISTERS.registers:
        assert f"### LATCH.{reg.name} (`{reg.offset:#04x}`)" in soc
        assert f"| `{0x4000_0000 + reg.offset:#010x}` | `{reg.offset:#04x}` | {reg.name} |" in soc
    assert "| MODEL1_WINDOW | `0x2100_0000` | `0x21ff_ffff` |" in soc
    assert "MODEL2_WINDOW" not in soc and "MODEL3_WINDOW" in regmap.markdown(n_models=4)


def test_python_module_defines_the_constants():
    namespace = {}
    exec(regmap.python_module(TEST_MAP), namespace)
    namespace.pop("__builtins__")
    namespace.pop("__doc__")
    assert namespace == regmap.constants(TEST_MAP)


def _cc():
    return shutil.which("gcc") or shutil.which("cc")


@pytest.mark.skipif(_cc() is None, reason="no C compiler (gcc/cc) on PATH")
def test_c_header_compiles_and_matches_the_constants(tmp_path):
    header = tmp_path / "guillotine_regs.h"
    header.write_text(regmap.c_header(TEST_MAP))
    consts = regmap.constants(TEST_MAP)
    prints = "\n".join(f'    printf("{n} %lu\\n", (unsigned long)GUILLOTINE_{n});' for n in consts)
    src = tmp_path / "main.c"
    src.write_text(f"""#include "guillotine_regs.h"
#include "guillotine_regs.h"   /* include guard */
#include <stdio.h>
static void poke(void) {{ if (0) GUILLOTINE_REG32(GUILLOTINE_ALPHA_CTRL) = 1u; }}
int main(void) {{
    poke();
{prints}
    return 0;
}}
""")
    flags = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]
    subprocess.run([_cc(), *flags, "-fsyntax-only", str(header)], check=True, cwd=tmp_path)
    exe = tmp_path / "main"
    subprocess.run([_cc(), *flags, "-o", str(exe), str(src)], check=True, cwd=tmp_path)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    got = {name: int(value) for name, value in (line.split() for line in out.splitlines())}
    assert got == consts
    text = header.read_text()
    assert "#define GUILLOTINE_ALPHA_CTRL 0x40000000u" in text
    assert text.startswith("/*") and "#ifndef GUILLOTINE_REGS_H" in text
    assert text.rstrip().endswith("#endif /* GUILLOTINE_REGS_H */")


def test_c_header_comments_cannot_be_closed_by_a_doc_string():
    block = RegisterBlock("EVIL", (Register("R", 0, (Field("x", 0, 1, Access.RW, 0, "a */ b"),),
                                            "end */ int x;"),))
    text = regmap.c_header(CSRMap([("EVIL", 0, block)]))
    for line in text.splitlines():
        if line.startswith("#define GUILLOTINE_EVIL"):
            assert line.count("*/") <= 1 and (line.count("*/") == 0 or line.endswith("*/"))


def test_render_rejects_unknown_format():
    with pytest.raises(GuillotineError, match="unknown register map format 'yaml'; valid: md, "
                                              "json, c, py"):
        regmap.render("yaml")


def test_bridge_converts_to_verilog():
    from amaranth.back import verilog
    text = verilog.convert(CSRBridge(soc_csr_map()), name="csr_bridge")
    for port in ("bus__adr", "bus__err", "csr_latch__w_stb", "csr_latch__r_data"):
        assert port in text
