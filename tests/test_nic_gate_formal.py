"""Formal proofs (k-induction) of the NIC gate properties, and mutants that show each can fail.

The properties live in :class:`guillotine.hdl.nic_gate.NicGateProperties`: PROBATION and
SEVERANCE keep ``phy_tx.valid`` low, SEVERANCE writes no ingress byte, every byte on ``phy_tx``
belongs to a frame the hypervisor released, ingress routing, immutable quarantined frames, the
rate bound for whatever RATE/BURST the hypervisor latched, and RATE/BURST frozen after
``cfg_lock`` (the kill latch's LOCK); at tiny sizes (fast, and the mutants) and at board sizes.
"""

import pytest

from guillotine.hdl.nic_gate import MUTANTS, NicGate, NicGateNoninterference, NicGateProperties
from guillotine.sim.formal import FormalError, assert_formal

pytestmark = pytest.mark.formal

TINY = dict(n_models=2, max_frame=4, buffer_frames=1, rx_frames=1, rate=1, clk_hz=3, burst=4,
            credits=1, credit_period=4)


def test_prove_gate():
    """GATE.LATCH.PROBATION, GATE.LATCH.SEVERANCE, GATE.EGRESS.QUARANTINE, GATE.RATE.BUCKET,
    GATE.RATE.LOCK (any CSR traffic, including RATE/BURST writes before and after cfg_lock)."""
    assert_formal(NicGateProperties(**TINY), mode="prove", depth=4, name="nic_gate_prove")


def test_prove_gate_two_frames():
    """The same with two quarantine slots, a deeper bucket and three models."""
    params = dict(TINY, n_models=3, buffer_frames=2, burst=8, rate=1, clk_hz=1)
    assert_formal(NicGateProperties(**params), mode="prove", depth=4, name="nic_gate_prove_2")


def test_prove_gate_runtime_rate():
    """The rate bound with a BURST range (4..8) and a RATE range (2..0xFFFF) that firmware can
    move before cfg_lock: the bound holds for the latched values and for the elaboration limits."""
    params = dict(TINY, buffer_frames=2, burst=8, clk_hz=2)
    assert_formal(NicGateProperties(**params), mode="prove", depth=4, name="nic_gate_prove_rt")


@pytest.mark.parametrize("params", [
    dict(n_models=2),
    dict(n_models=4, buffer_frames=2, rx_frames=2, burst=512),
], ids=["default-2", "default-4x2"])
def test_prove_gate_real_sizes(params):
    """The same properties at the sizes a board uses (256-byte frames, 24 MHz, 10 kB/s)."""
    assert_formal(NicGateProperties(**params), mode="prove", depth=4,
                  name=f"nic_gate_prove_real_{params['n_models']}")


def test_cover_gate():
    """A complete frame is reachable (the proofs are not vacuous)."""
    assert_formal(NicGateProperties(**TINY), mode="cover", depth=24, name="nic_gate_cover")


#: A slower refill for the rate mutant, so that a few frames from reset exhaust the bucket.
MUTANT_RUNS = {"rate_unlimited": (dict(TINY, clk_hz=16), 26)}


#: Mutants caught by the non-interference check rather than by NicGateProperties.
NI_MUTANTS = {"credits_show_waiting"}


@pytest.mark.parametrize("mutation", sorted(set(MUTANTS) - NI_MUTANTS))
def test_each_mutant_breaks_the_proof(mutation):
    """A deliberately broken gate fails the induction proof, and a bounded check from reset
    *without* the inductive strengthening finds a real counterexample to the property itself."""
    params, depth = MUTANT_RUNS.get(mutation, (TINY, 12))
    gate = NicGate(**params)
    gate.mutation = mutation
    with pytest.raises(FormalError):
        assert_formal(NicGateProperties(gate), mode="prove", depth=4,
                      name=f"nic_gate_mutant_{mutation}_prove")
    gate = NicGate(**params)
    gate.mutation = mutation
    with pytest.raises(FormalError) as info:
        assert_formal(NicGateProperties(gate, strengthen=False), mode="bmc", depth=depth,
                      name=f"nic_gate_mutant_{mutation}")
    assert info.value.trace and info.value.trace.endswith(".vcd")


NI = dict(n_models=2, max_frame=2, buffer_frames=1, rx_frames=1, rate=1, clk_hz=2, burst=2,
          credits=1, credit_period=3)


def test_model_view_independent_of_hypervisor_bmc():
    """GATE.COVERT.CREDITS: whatever the hypervisor and the transmit side do, each model's
    mailbox answers are the same (two gates, same model/network/latch inputs, independent CSR
    traffic and phy_tx back-pressure), for every input sequence of the checked length."""
    assert_formal(NicGateNoninterference(**NI), mode="bmc", depth=16, name="nic_gate_ni")


def test_noninterference_catches_a_leak():
    """A gate whose CREDITS read shows the quarantine fill level fails the check."""
    assert NI_MUTANTS == {"credits_show_waiting"}
    a, b = NicGate(**NI), NicGate(**NI)
    a.mutation = b.mutation = "credits_show_waiting"
    with pytest.raises(FormalError):
        assert_formal(NicGateNoninterference(a, b), mode="bmc", depth=12,
                      name="nic_gate_ni_mutant")
