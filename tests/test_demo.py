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


def test_latch_demo_command(capsys, tmp_path):
    assert main(["demo", "--latch", "--trace", str(tmp_path / "d.vcd")]) == 0
    out = capsys.readouterr().out
    assert "STANDARD -> PROBATION" in out
    assert "OFFLINE -> STANDARD" in out
    assert "final level: DECAPITATION" in out
    assert (tmp_path / "d.vcd").exists()


def test_demo_bad_parameter_is_one_line(capsys):
    assert main(["demo", "--latch", "--no-trace", "--n-keys", "3", "--k", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "k must be an integer in 1..n_keys=3" in err
    assert main(["demo", "--latch", "--no-trace", "--fault-level", "MELTDOWN"]) == 2
    err = capsys.readouterr().err
    assert "'MELTDOWN' is not a level" in err and "Traceback" not in err


def test_soc_demo_command(capsys):
    """The main demo: the rogue model is caught, the latch escalates, the models are scrubbed."""
    assert main(["demo", "--no-trace"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    order = [next(i for i, l in enumerate(lines) if text in l) for text in (
        "GUILLOTINE hypervisor", "LATCH <- violation   STANDARD -> PROBATION",
        "M1 HALT 6   (BUS_ERROR_LOAD)", "presses the panic button",
        "LATCH <- panic       PROBATION -> DECAPITATION")]
    assert order == sorted(order)
    assert "violations counted: model 0 0, model 1 1" in out
    assert "scrubbed to zero: model 0 yes, model 1 yes" in out
    assert "hypervisor still running: yes" in out


def test_demo_bad_trace_path(capsys):
    assert main(["demo", "--trace", "out.txt"]) == 2
    assert "--trace must name a .vcd file" in capsys.readouterr().err
