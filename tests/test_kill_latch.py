"""Amaranth-simulator tests of the kill latch: each trip source, release rule, lock and outputs."""

import itertools
import random

import pytest

from guillotine import GuillotineError
from guillotine.hdl.kill_latch import (CAUSES, EFFECTS, ENCODING, KICK_MAGIC, LEVEL_EFFECTS,
                                       KillLatch, Level, STATE_BITS, latch_params)
from guillotine.sim.amaranth_sim import simulate
from guillotine.sim.kill_latch_model import KillLatchModel, random_stimulus

SMALL = dict(debounce_cycles=3, release_window=40, wdog_period=20, viol_threshold=3)


class Driver:
    """Drives a latch's CSR port and pins from an Amaranth testbench."""

    def __init__(self, ctx, dut):
        self.ctx, self.dut = ctx, dut
        self.word = {r.name: r.offset // 4 for r in dut.registers.registers}

    async def write(self, reg, data):
        ctx, dut = self.ctx, self.dut
        ctx.set(dut.csr.addr, self.word[reg])
        ctx.set(dut.csr.w_data, data)
        ctx.set(dut.csr.w_stb, 1)
        await ctx.tick()
        ctx.set(dut.csr.w_stb, 0)

    def read(self, reg):
        self.ctx.set(self.dut.csr.addr, self.word[reg])
        return self.ctx.get(self.dut.csr.r_data)

    async def ticks(self, n=1):
        for _ in range(n):
            await self.ctx.tick()

    @property
    def level(self):
        return self.ctx.get(self.dut.level)

    def effects(self):
        value = self.ctx.get(self.dut.effects.as_value())
        return {name for i, name in enumerate(EFFECTS) if value >> i & 1}

    async def press(self, *keys, hold=None):
        """Press keys (held long enough to debounce), then release them."""
        hold = hold or self.dut.params["debounce_cycles"] + 4
        mask = sum(1 << k for k in keys)
        self.ctx.set(self.dut.keys, mask)
        await self.ticks(hold)
        self.ctx.set(self.dut.keys, 0)
        await self.ticks(hold)


def run(dut, bench):
    async def tb(ctx):
        await bench(Driver(ctx, dut))
    simulate(dut, tb)


# --- encoding and parameters ---------------------------------------------------------------------

def test_encoding_distance():
    codes = list(ENCODING.values())
    assert len(set(codes)) == 6
    for a, b in itertools.combinations(codes, 2):
        assert bin(a ^ b).count("1") >= 4
    assert 0 not in codes and (1 << STATE_BITS) - 1 not in codes


def test_level_effects_table_is_monotone():
    for lo, hi in zip(Level, list(Level)[1:]):
        assert LEVEL_EFFECTS[lo] < LEVEL_EFFECTS[hi]
    assert LEVEL_EFFECTS[Level.STANDARD] == frozenset()
    assert "destruct" in LEVEL_EFFECTS[Level.IMMOLATION]


@pytest.mark.parametrize("params, words", [
    (dict(n_keys=2, k=3), ["k", "1..n_keys=2"]),
    (dict(k=0), ["k", "0"]),
    (dict(wdog_period=0), ["wdog_period", "zero period", "0"]),
    (dict(wdog_period=1 << 16), ["wdog_period", "65536"]),
    (dict(wdog_level="MELTDOWN"), ["wdog_level", "'MELTDOWN'", "IMMOLATION"]),
    (dict(panic_level="standard"), ["panic_level", "STANDARD", "never trip"]),
    (dict(viol_threshold=0), ["viol_threshold", "1..255"]),
    (dict(viol_threshold=256), ["viol_threshold", "256"]),
    (dict(fault_level=9), ["fault_level", "9", "0..5"]),
    (dict(n_keys=9), ["n_keys", "1..8"]),
    (dict(colour="red"), ["colour", "valid"]),
])
def test_bad_parameters(params, words):
    with pytest.raises(GuillotineError) as info:
        KillLatch(**params)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_level_names_are_accepted_case_insensitively():
    params = latch_params(wdog_level="severance", viol_level=4, panic_level=Level.IMMOLATION)
    assert params["wdog_level"] is Level.SEVERANCE
    assert params["viol_level"] is Level.DECAPITATION


# --- trip sources ---------------------------------------------------------------------------------

def test_firmware_request_escalates_only():
    dut = KillLatch(**SMALL)

    async def bench(d):
        assert d.level == Level.STANDARD and d.effects() == set()
        await d.write("REQUEST", Level.OFFLINE)
        assert d.level == Level.OFFLINE
        await d.write("REQUEST", Level.PROBATION)      # lower: ignored
        assert d.level == Level.OFFLINE
        await d.write("REQUEST", Level.OFFLINE)        # equal: ignored
        await d.write("REQUEST", 7)                    # not a level: ignored
        assert d.level == Level.OFFLINE
        assert d.read("CAUSE") == 1 << CAUSES.index("firmware")
        await d.write("REQUEST", Level.DECAPITATION)
        assert d.level == Level.DECAPITATION
    run(dut, bench)


def test_trip_to_effect_one_cycle():
    """The effect of a trip appears right after the clock edge that samples the trip."""
    dut = KillLatch(**SMALL)

    async def bench(d):
        d.ctx.set(dut.csr.addr, d.word["REQUEST"])
        d.ctx.set(dut.csr.w_data, Level.SEVERANCE)
        d.ctx.set(dut.csr.w_stb, 1)
        assert d.effects() == set()                  # before the edge: nothing yet
        await d.ctx.tick()
        assert d.effects() == set(LEVEL_EFFECTS[Level.SEVERANCE])
    run(dut, bench)


def test_watchdog_fail_closed():
    dut = KillLatch(**{**SMALL, "wdog_level": "OFFLINE"})

    async def bench(d):
        # A kick before arming does nothing and does not arm.
        await d.write("WDOG_KICK", KICK_MAGIC)
        assert not d.read("WDOG_CTRL") >> 8 & 1
        await d.ticks(60)
        assert d.level == Level.STANDARD
        # Arm with period 20; kicks with the magic value keep it alive.
        await d.write("WDOG_CTRL", (1 << 8) | Level.OFFLINE)
        for _ in range(5):
            await d.ticks(15)
            await d.write("WDOG_KICK", KICK_MAGIC)
        assert d.level == Level.STANDARD
        # A wrong value is no kick.
        await d.ticks(10)
        await d.write("WDOG_KICK", 0x12345678)
        await d.ticks(12)
        assert d.level == Level.OFFLINE
        assert d.read("CAUSE") == 1 << CAUSES.index("watchdog")
        assert d.read("WDOG_CTRL") >> 9 & 1              # expired
    run(dut, bench)


def test_watchdog_stuck_kick_strobe_counts_once():
    dut = KillLatch(**SMALL)

    async def bench(d):
        await d.write("WDOG_CTRL", (1 << 8) | Level.OFFLINE)
        d.ctx.set(dut.csr.addr, d.word["WDOG_KICK"])
        d.ctx.set(dut.csr.w_data, KICK_MAGIC)
        d.ctx.set(dut.csr.w_stb, 1)                    # stuck high from now on
        await d.ticks(25)
        assert d.level == Level.OFFLINE
    run(dut, bench)


def test_watchdog_zero_period_expires_at_once_and_lock_arms():
    dut = KillLatch(**SMALL)

    async def bench(d):
        await d.write("WDOG_PERIOD", 0)
        await d.write("LOCK", 1)                       # locking arms the watchdog
        assert d.read("WDOG_CTRL") >> 8 & 1
        await d.ticks(1)
        assert d.level == Level.OFFLINE
    run(dut, bench)


def test_violation_threshold():
    dut = KillLatch(**{**SMALL, "viol_level": "SEVERANCE"})

    async def bench(d):
        for i in range(3):
            assert d.level == Level.STANDARD
            d.ctx.set(dut.violation, 1)
            await d.ticks(1)
            d.ctx.set(dut.violation, 0)
            await d.ticks(2)
        assert d.level == Level.SEVERANCE
        assert d.read("VIOL_COUNT") == 3
        assert d.read("CAUSE") == 1 << CAUSES.index("violation")
    run(dut, bench)


def test_panic_pin():
    """Panic passes a 2-flop synchroniser: the effect shows on the 3rd edge."""
    dut = KillLatch(**{**SMALL, "panic_level": "DECAPITATION"})

    async def bench(d):
        d.ctx.set(dut.panic, 1)
        await d.ticks(2)
        assert d.level == Level.STANDARD
        await d.ticks(1)
        assert d.level == Level.DECAPITATION
        assert {"model_hold", "ram_scrub", "power_relay_open"} <= d.effects()
        assert "destruct" not in d.effects()
        assert d.read("CAUSE") == 1 << CAUSES.index("panic")
    run(dut, bench)


def test_cause_sticky():
    dut = KillLatch(**SMALL)

    async def bench(d):
        await d.write("REQUEST", Level.PROBATION)
        d.ctx.set(dut.panic, 1)
        await d.ticks(4)
        d.ctx.set(dut.panic, 0)
        await d.ticks(4)
        expected = 1 << CAUSES.index("firmware") | 1 << CAUSES.index("panic")
        assert d.ctx.get(dut.cause) == expected
        await d.press(0, 1)                            # panic level is above OFFLINE: no release
        assert d.ctx.get(dut.cause) == expected
    run(dut, bench)


# --- human-consensus release -------------------------------------------------------------------------

def test_release_needs_k_distinct_keys():
    dut = KillLatch(**SMALL)                           # 2 of 3 keys

    async def bench(d):
        await d.write("REQUEST", Level.OFFLINE)
        await d.press(0)
        await d.press(0)                               # the same key twice counts once
        assert d.level == Level.OFFLINE
        await d.press(2)
        assert d.level == Level.STANDARD
        assert d.effects() == set()
        # Firmware cannot press keys: the KEYS register is read-only.
        await d.write("REQUEST", Level.SEVERANCE)
        await d.write("KEYS", 0b111)
        await d.ticks(10)
        assert d.level == Level.SEVERANCE
    run(dut, bench)


def test_release_window_expires():
    dut = KillLatch(**SMALL)

    async def bench(d):
        await d.write("REQUEST", Level.PROBATION)
        await d.press(1)
        await d.ticks(45)                              # window (40 cycles) closes
        await d.press(2)
        assert d.level == Level.PROBATION
        await d.press(0)                               # 2 and 0 inside one window
        assert d.level == Level.STANDARD
    run(dut, bench)


def test_bouncing_key_does_not_count():
    dut = KillLatch(**SMALL)

    async def bench(d):
        await d.write("REQUEST", Level.OFFLINE)
        for _ in range(20):                            # toggles faster than the debounce time
            d.ctx.set(dut.keys, 0b011)
            await d.ticks(2)
            d.ctx.set(dut.keys, 0)
            await d.ticks(1)
        await d.ticks(10)
        assert d.level == Level.OFFLINE
    run(dut, bench)


@pytest.mark.parametrize("level", [Level.DECAPITATION, Level.IMMOLATION])
def test_no_release_from_decapitation(level):
    dut = KillLatch(**SMALL)

    async def bench(d):
        await d.write("REQUEST", level)
        await d.press(0, 1, 2)
        await d.press(0)
        await d.press(1)
        assert d.level == level
    run(dut, bench)


# --- configuration lock ------------------------------------------------------------------------------

def test_lock_freezes_config():
    dut = KillLatch(**SMALL)

    async def bench(d):
        await d.write("VIOL_CFG", 5 | (Level.OFFLINE << 16))
        await d.write("WDOG_PERIOD", 1000)
        await d.write("LOCK", 1)
        before = {r: d.read(r) for r in ("VIOL_CFG", "WDOG_PERIOD", "WDOG_CTRL", "PANIC_CFG")}
        assert before["VIOL_CFG"] == 5 | (Level.OFFLINE << 16)
        await d.write("VIOL_CFG", 1 | (Level.PROBATION << 16))
        await d.write("WDOG_PERIOD", 1)
        await d.write("WDOG_CTRL", Level.PROBATION)
        await d.write("PANIC_CFG", Level.PROBATION)
        await d.write("LOCK", 0)                        # cannot unlock
        after = {r: d.read(r) for r in before}
        assert after == before
        assert d.read("LOCK") == 1
    run(dut, bench)


def test_config_levels_are_clamped():
    dut = KillLatch(**SMALL)

    async def bench(d):
        await d.write("PANIC_CFG", 0)                  # STANDARD would disable the source
        assert d.read("PANIC_CFG") == Level.PROBATION
        await d.write("PANIC_CFG", 7)
        assert d.read("PANIC_CFG") == Level.IMMOLATION
    run(dut, bench)


def test_register_reads():
    dut = KillLatch(**SMALL)

    async def bench(d):
        level = d.read("LEVEL")
        assert level & 7 == Level.STANDARD and level >> 3 & 1
        assert level >> 8 == ENCODING[Level.STANDARD]
        assert d.read("WDOG_PERIOD") == 20
        assert d.read("REQUEST") == 0                  # write-only reads as zero
        await d.write("REQUEST", Level.OFFLINE)
        assert d.read("EFFECTS") == sum(1 << i for i, e in enumerate(EFFECTS)
                                        if e in LEVEL_EFFECTS[Level.OFFLINE])
    run(dut, bench)


# --- against the reference model -----------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_match_reference_model(seed):
    params = dict(SMALL, k=2, n_keys=3, wdog_level="OFFLINE", panic_level="SEVERANCE")
    dut = KillLatch(**params)
    model = KillLatchModel(**params)
    rng = random.Random(seed)
    seen_levels = set()
    releases = 0

    async def bench(d):
        nonlocal releases
        for cycle, inputs in enumerate(random_stimulus(rng, model, 2500)):
            out = model.outputs()
            assert d.level == out["level"], f"cycle {cycle}"
            assert d.ctx.get(dut.cause) == out["cause"], f"cycle {cycle}"
            assert d.effects() == {e for e, v in out["effects"].items() if v}
            seen_levels.add(out["level"])
            d.ctx.set(dut.csr.w_stb, inputs["w_stb"])
            d.ctx.set(dut.csr.addr, inputs["w_addr"])
            d.ctx.set(dut.csr.w_data, inputs["w_data"])
            d.ctx.set(dut.violation, inputs["violation"])
            d.ctx.set(dut.panic, inputs["panic"])
            d.ctx.set(dut.keys, inputs["keys"])
            releases += model.step(**inputs)
            await d.ctx.tick()
    run(dut, bench)
    # The stimulus must actually exercise escalation and release.
    assert len(seen_levels) >= 3 and releases >= 1
