"""Formal proofs (k-induction) of the kill latch invariants, and proof that each proof can fail.

The properties live in :class:`guillotine.hdl.kill_latch.KillLatchProperties`. Small counter
widths keep the solver fast; the invariants do not depend on the widths, and the default-width
latch is proven too.
"""

import pytest

from guillotine.hdl.kill_latch import MUTANTS, KillLatch, KillLatchProperties
from guillotine.sim.formal import FormalError, assert_formal

pytestmark = pytest.mark.formal

SMALL = dict(wdog_width=6, wdog_period=5, release_window=6, debounce_cycles=2, viol_width=3,
             viol_threshold=3)


@pytest.mark.parametrize("fault_level", ["IMMOLATION", "OFFLINE"])
def test_prove_latch(fault_level):
    """LEVEL.MONOTONE, RELEASE.CONSENSUS, OUT.MONOTONE, CFG.LOCK, WDOG.FAIL_CLOSED, for all time."""
    assert_formal(KillLatchProperties(fault_level=fault_level, **SMALL), mode="prove", depth=6,
                  name=f"latch_prove_{fault_level}")


def test_prove_latch_default_widths():
    assert_formal(KillLatchProperties(), mode="prove", depth=6, name="latch_prove_default")


@pytest.mark.parametrize("fault_level", ["IMMOLATION", "PROBATION"])
def test_prove_invalid_state_from_any_word(fault_level):
    """LATCH.FSM.SPARSE: from every one of the 128 state words, invalid ones included."""
    assert_formal(KillLatchProperties(fault_level=fault_level, **SMALL), mode="prove", depth=6,
                  name=f"latch_free_state_{fault_level}", script=KillLatchProperties.FREE_STATE)


def test_prove_firmware_cannot_lower():
    """With the operator keys untouched, no CSR traffic ever lowers the level."""
    assert_formal(KillLatchProperties(keys_idle=True, **SMALL), mode="prove", depth=8,
                  name="latch_keys_idle")


def test_cover_latch():
    """Release, IMMOLATION, watchdog expiry and a locked OFFLINE are all reachable."""
    assert_formal(KillLatchProperties(**SMALL), mode="cover", depth=24, name="latch_cover")


@pytest.mark.parametrize("mutation", sorted(MUTANTS))
def test_each_mutant_breaks_a_proof(mutation):
    """A deliberately broken latch must fail at least one of the proofs above."""
    runs = [dict(keys_idle=False, script=""), dict(keys_idle=True, script=""),
            dict(keys_idle=False, script=KillLatchProperties.FREE_STATE)]
    failures = []
    for i, run in enumerate(runs):
        latch = KillLatch(**SMALL)
        latch.mutation = mutation
        try:
            assert_formal(KillLatchProperties(latch, keys_idle=run["keys_idle"]), mode="prove",
                          depth=8, name=f"mutant_{mutation}_{i}", script=run["script"])
        except FormalError as exc:
            failures.append(exc)
            break
    assert failures, f"mutant {mutation!r} ({MUTANTS[mutation]}) passed every proof"
    assert all(f.trace and f.trace.endswith(".vcd") for f in failures)
