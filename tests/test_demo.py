"""The demo scenario: a rogue model is caught and the latch escalates (``guillotine demo``)."""

from guillotine.cli import main
from guillotine.hdl.kill_latch import Level
from guillotine.sim.latch_scenario import run_latch_scenario


def test_scenario_timeline(tmp_path):
    trace = tmp_path / "latch.vcd"
    events = run_latch_scenario(trace=trace)
    changes = [(e.source, e.old, e.new) for e in events if e.new is not None]
    assert changes == [
        ("violation", Level.STANDARD, Level.PROBATION),
        ("firmware", Level.PROBATION, Level.SEVERANCE),
        ("watchdog", Level.SEVERANCE, Level.OFFLINE),
        ("consensus release", Level.OFFLINE, Level.STANDARD),
        ("panic", Level.STANDARD, Level.DECAPITATION),
    ]
    # The release needed the second distinct key, not the repeated first one.
    release = next(e for e in events if e.source == "consensus release")
    turns = [e for e in events if "turns key" in e.what]
    assert turns[1].cycle < release.cycle and turns[2].cycle < release.cycle
    assert "key 2" in turns[2].what
    assert trace.stat().st_size > 10_000


def test_demo_command(capsys, tmp_path):
    assert main(["demo", "--trace", str(tmp_path / "d.vcd")]) == 0
    out = capsys.readouterr().out
    assert "STANDARD -> PROBATION" in out
    assert "OFFLINE -> STANDARD" in out
    assert "final level: DECAPITATION" in out
    assert (tmp_path / "d.vcd").exists()


def test_demo_bad_parameter_is_one_line(capsys):
    assert main(["demo", "--no-trace", "--n-keys", "3", "--k", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "k must be an integer in 1..n_keys=3" in err
    assert main(["demo", "--no-trace", "--fault-level", "MELTDOWN"]) == 2
    err = capsys.readouterr().err
    assert "'MELTDOWN' is not a level" in err and "Traceback" not in err
