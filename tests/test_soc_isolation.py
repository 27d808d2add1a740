"""Proof of isolation (formal, abstract cores) and the information-flow audit of the netlist."""

import pytest

from guillotine.cli import main
from guillotine.hdl.model_tile import TILE_CROSSINGS, TILE_MUTANTS
from guillotine.hdl.soc import SOC_MUTANTS, GuillotineSoC
from guillotine.hdl.soc_properties import SoCIsolationProperties
from guillotine.sim.flows import audit_flows
from guillotine.sim.formal import FormalError, assert_formal

SMALL = dict(rom_bytes=64, ram_bytes=64, model_ram_bytes=64, clk_hz=4_000_000, baud=1_000_000)


@pytest.mark.formal
@pytest.mark.parametrize("n_models", [1, 2])
@pytest.mark.parametrize("network", [False, True], ids=["loopback", "nic_gate"])
def test_prove_isolation(n_models, network):
    assert_formal(SoCIsolationProperties(n_models, network=network), mode="prove", depth=3,
                  name=f"soc_isolation_{n_models}_{network}")


def _abstract_soc():
    from guillotine.hdl.soc_properties import SMALL_LATCH
    return GuillotineSoC(2, b"", latch=SMALL_LATCH, abstract_cores=True, **SMALL)


@pytest.mark.formal
@pytest.mark.parametrize("mutation", sorted(TILE_MUTANTS) + sorted(SOC_MUTANTS))
def test_isolation_proof_catches_mutant(mutation):
    soc = _abstract_soc()
    if mutation in TILE_MUTANTS:
        soc.tiles[0].mutation = mutation
    else:
        soc.mutation = mutation
    with pytest.raises(FormalError) as info:
        assert_formal(SoCIsolationProperties(soc=soc), mode="prove", depth=3,
                      name=f"soc_mutant_{mutation}")
    assert info.value.trace


def test_flow_audit_passes_and_lists_every_crossing(tmp_path):
    soc = GuillotineSoC(2, b"", **SMALL)
    report = audit_flows(soc, tmp_path)
    assert report.ok, report.violations
    seen = {(c.model, c.port) for c in report.crossings}
    # Every tile port carries something across, and the audit saw it on both models.
    assert {p for _, p in seen} == set(TILE_CROSSINGS)
    assert {m for m, _ in seen} == {0, 1}


NET = dict(network=True, net_baud=250_000, gate_params=dict(max_frame=8, rate=100_000))


def test_flow_audit_passes_with_the_nic_gate(tmp_path):
    report = audit_flows(GuillotineSoC(2, b"", **SMALL, **NET), tmp_path)
    assert report.ok, report.violations
    # The gate's crossings touch only the gate state of the same model.
    for c in report.crossings:
        if c.port.startswith("mbox_"):
            gate_state = {r for r in c.reach if r.startswith("gate.")}
            assert gate_state and all(f"_{c.model}" in r for r in gate_state), (c.port, c.reach)


def test_flow_audit_catches_cross_model_mailbox(tmp_path):
    soc = GuillotineSoC(2, b"", **SMALL, **NET)
    soc.mutation = "cross_model_mailbox"
    report = audit_flows(soc, tmp_path)
    assert any("model 1 port mbox_dat_r" in v and "_0" in v for v in report.violations), \
        report.violations


def test_flow_audit_catches_hypervisor_ram_tap(tmp_path):
    soc = GuillotineSoC(2, b"", **SMALL)
    soc.mutation = "hv_ram_tap"
    report = audit_flows(soc, tmp_path)
    assert not report.ok
    assert any("mbox_dat_r" in v and "ram." in v for v in report.violations), \
        report.violations


def test_flow_audit_catches_unlisted_port(tmp_path, monkeypatch):
    """A crossing that is not on the allowed list (here: 'violation') fails the audit."""
    trimmed = {k: v for k, v in TILE_CROSSINGS.items() if k != "violation"}
    monkeypatch.setattr("guillotine.hdl.model_tile.TILE_CROSSINGS", trimmed)
    report = audit_flows(GuillotineSoC(1, b"", **SMALL), tmp_path)
    assert any("port violation" in v and "not an allowed crossing" in v
               for v in report.violations)


def test_verify_flows_command(capsys):
    assert main(["verify", "--flows", "--n-models", "1", "--no-network"]) == 0
    out = capsys.readouterr().out
    assert "freeze" in out and "insp_r_data" in out and "no illegal crossing" in out
    assert main(["verify", "--flows", "--n-models", "7"]) == 2
    assert "n_models" in capsys.readouterr().err
