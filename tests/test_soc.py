"""Whole-system simulation of the SoC: the hypervisor monitor runs two models; rogue models are
contained (bus error, halt, violation counted, latch escalated) while the hypervisor runs on."""

import re

import pytest

from guillotine import GuillotineError
from guillotine.firmware.programs import (COUNTER_ADDR, ROGUE_MODELS, counter_model,
                                          hypervisor_monitor)
from guillotine.hdl.cpu.causes import HaltCause
from guillotine.hdl.kill_latch import Level
from guillotine.hdl.soc import GuillotineSoC
from guillotine.sim.soc_sim import run_soc

FAST = dict(model_ram_bytes=4096, clk_hz=4_000_000, baud=2_000_000)


def _soc(models, **kwargs):
    return GuillotineSoC(len(models), hypervisor_monitor(len(models), **kwargs.pop("fw", {})),
                         model_images=models, **FAST, **kwargs)


def _inspections(console):
    return [int(v, 16) for v in re.findall(r"M0=([0-9a-f]{8})\n", console)]


def test_monitor_starts_models_kicks_and_inspects():
    soc = _soc([counter_model(), counter_model(step=3)])
    run = run_soc(soc, 60_000, until=lambda r: len(_inspections(r.console)) >= 3,
                  probes={"count1": soc.tiles[1].ram_data[COUNTER_ADDR // 4],
                          "halt0": soc.tiles[0].halt, "halt1": soc.tiles[1].halt})
    assert run.console.startswith("GUILLOTINE hypervisor\nstarting models\n")
    seen = _inspections(run.console)
    assert len(seen) >= 3
    assert seen == sorted(seen) and len(set(seen)) == len(seen)   # model 0 keeps counting
    assert run.probes["count1"] % 3 == 0 and run.probes["count1"] > 0
    assert "HALT" not in run.console
    assert run.level == Level.STANDARD and not run.level_changes   # watchdog kept alive
    assert not run.hv_halted


@pytest.mark.parametrize("rogue", sorted(ROGUE_MODELS))
def test_rogue_model_is_contained(rogue):
    build, cause, _ = ROGUE_MODELS[rogue]
    soc = _soc([counter_model(), build()])
    run = run_soc(soc, 60_000,
                  until=lambda r: "M1 HALT" in r.console and len(_inspections(r.console)) >= 2,
                  probes={"viol1": soc.modelctl.viol_counts[1], "cause1": soc.tiles[1].cause,
                          "viol0": soc.modelctl.viol_counts[0]})
    expected = HaltCause[cause]
    assert f"M1 HALT {expected:x}\n" in run.console
    assert run.probes["cause1"] == expected
    assert run.probes["viol1"] == 1 and run.probes["viol0"] == 0
    # Escalated per configuration (threshold 1 -> PROBATION), and the hypervisor runs on:
    assert run.level_changes[0][1:] == (Level.STANDARD, Level.PROBATION, ["violation"])
    assert len(_inspections(run.console)) >= 2 and not run.hv_halted
    assert "M0 HALT" not in run.console


def test_violation_threshold_from_firmware():
    """With a threshold of 2, one rogue model is not enough to trip the latch."""
    soc = _soc([counter_model(), ROGUE_MODELS["read_hypervisor_ram"][0]()],
               fw=dict(viol_threshold=2))
    run = run_soc(soc, 40_000, until=lambda r: len(_inspections(r.console)) >= 2)
    assert "M1 HALT" in run.console and run.level == Level.STANDARD


def test_panic_holds_and_scrubs_models():
    soc = _soc([counter_model(), counter_model()])
    words = soc.tiles[0].ram_words

    def press_panic(ctx, cycle):
        ctx.set(soc.panic, 1 if cycle > 3000 else 0)

    probes = {f"w{i}": soc.tiles[t].ram_data[i] for t in (0, 1) for i in (0, COUNTER_ADDR // 4)}
    probes["last"] = soc.tiles[1].ram_data[words - 1]
    run = run_soc(soc, 3000 + words + 200, stimulus=press_panic, probes=probes)
    assert run.level == Level.DECAPITATION
    assert all(v == 0 for v in run.probes.values()), run.probes
    assert not run.hv_halted


@pytest.mark.parametrize("kwargs, words", [
    (dict(n_models=0), ["n_models", "1..4"]),
    (dict(n_models=5), ["n_models", "5"]),
    (dict(n_models=2, firmware=bytes(20_000)), ["20000 bytes", "16384-byte ROM"]),
    (dict(n_models=1, model_images=[bytes(8192)], model_ram_bytes=4096), ["8192", "4096"]),
    (dict(n_models=1, baud=7_000_000, clk_hz=24_000_000), ["baud 7000000", "2%"]),
    (dict(n_models=1, model_ram_bytes=3000), ["model_ram_bytes", "power of two"]),
])
def test_bad_parameters(kwargs, words):
    with pytest.raises(GuillotineError) as info:
        GuillotineSoC(**kwargs)
    for word in words:
        assert word in str(info.value)
