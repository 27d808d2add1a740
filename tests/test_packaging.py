"""Packaging: the built wheel carries every mapped subpackage and runs on its own; the CLI's
``--version``/``--help`` work and bad input gives one line, a non-zero exit and no traceback."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import guillotine

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                     ".yowasp", "sim_build", ".pytest_cache", ".hypothesis",
                                     "*.vcd", "*.fst")


def _quiet_env(**extra):
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "ignore"        # pip/setuptools deprecation noise is not our test
    env.update(extra)
    return env


def _setuptools_too_old():
    """Why the venv's setuptools cannot build this pyproject without isolation (or None)."""
    wanted = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    match = re.search(r">=\s*([\d.]+)", wanted[0]) if wanted else None
    try:
        have = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return "setuptools is not installed in the test environment"
    if match and tuple(map(int, have.split(".")[:2])) < tuple(map(int, match[1].split(".")[:2])):
        return (f"setuptools {have} in the test environment cannot build this pyproject "
                f"(build-system requires {wanted[0]}); install it with the test dependencies")
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel from a clean copy of the tree, install it with --target; return paths."""
    reason = _setuptools_too_old()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=COPY_IGNORE)   # no stale build/ or egg-info leaks in
    dist = tmp / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(dist), str(src)],
        capture_output=True, text=True, env=_quiet_env(), cwd=tmp, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    (whl,) = dist.glob("guillotine_soc-*.whl")
    site = tmp / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "-q", "--target", str(site), str(whl)],
        capture_output=True, text=True, env=_quiet_env(), cwd=tmp, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    return {"wheel": whl, "site": site, "tmp": tmp, "src": src}


def _mapped_packages():
    return PYPROJECT["tool"]["setuptools"]["package-dir"]


def test_wheel_contains_every_mapped_module(wheel):
    names = set(zipfile.ZipFile(wheel["wheel"]).namelist())
    for required in ("guillotine/__init__.py", "guillotine/cli.py",
                     "guillotine/commands/__init__.py", "guillotine/hdl/__init__.py",
                     "guillotine/sim/__init__.py", "guillotine/sim/tools.py",
                     "guillotine/sim/formal.py", "guillotine/firmware/__init__.py",
                     "guillotine/boards/__init__.py", "guillotine/boards/synth.py"):
        assert required in names, required
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"])
    for package, folder in _mapped_packages().items():
        assert package in packages, f"{package} is mapped but not listed in packages"
        prefix = package.replace(".", "/")
        source = wheel["src"] / folder
        for module in sorted(source.glob("*.py")):
            assert f"{prefix}/{module.name}" in names, f"{module} is missing from the wheel"
        # A sub-folder holding Python code must itself be a mapped package, or it is lost.
        for sub in sorted(p for p in source.iterdir() if p.is_dir() and p.name != "__pycache__"):
            if any(sub.glob("*.py")):
                assert f"{package}.{sub.name}" in packages, \
                    f"{sub.relative_to(wheel['src'])} holds Python code but is not packaged"
    for package, patterns in PYPROJECT["tool"]["setuptools"].get("package-data", {}).items():
        folder = wheel["src"] / _mapped_packages()[package]
        for pattern in patterns:
            for data in folder.glob(pattern):
                assert f"{package.replace('.', '/')}/{data.name}" in names, data
    entry_points = zipfile.ZipFile(wheel["wheel"]).read(
        next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "guillotine = guillotine.cli:main" in entry_points


def test_installed_wheel_imports_from_itself(wheel):
    site = wheel["site"]
    code = ("import guillotine, guillotine.hdl, guillotine.sim.formal, guillotine.boards, "
            "guillotine.boards.synth, guillotine.firmware, guillotine.cli\n"
            "for m in (guillotine, guillotine.hdl, guillotine.sim.formal, guillotine.boards, "
            "guillotine.firmware, guillotine.cli):\n"
            "    print(m.__file__)\n"
            "print(guillotine.__version__)\n")
    # cwd is outside the checkout, and PYTHONPATH puts the installed copy before the editable one.
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=wheel["tmp"], timeout=120,
                          env=_quiet_env(PYTHONPATH=str(site), PYTHONWARNINGS="error"))
    assert proc.returncode == 0, proc.stderr
    *files, version = proc.stdout.split()
    for file in files:
        assert Path(file).resolve().is_relative_to(site.resolve()), file
    assert version == guillotine.__version__


@pytest.mark.parametrize("flag, expect", [("--version", "guillotine "), ("--help", "usage:")])
def test_installed_script_runs(wheel, flag, expect):
    script = wheel["site"] / "bin" / "guillotine"
    assert script.exists()
    proc = subprocess.run([str(script), flag], capture_output=True, text=True,
                          cwd=wheel["tmp"], timeout=120,
                          env=_quiet_env(PYTHONPATH=str(wheel["site"]), PYTHONWARNINGS="error"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(expect)
    if flag == "--version":
        assert proc.stdout.strip() == f"guillotine {guillotine.__version__}"
    else:
        assert "doctor" in proc.stdout


# --- the CLI of the checkout -------------------------------------------------------------------

def run_cli(*argv):
    return subprocess.run([sys.executable, "-m", "guillotine", *argv], capture_output=True,
                          text=True, cwd=ROOT, timeout=120,
                          env=_quiet_env(PYTHONWARNINGS="error"))


def test_version_and_help():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"guillotine {guillotine.__version__}"
    proc = run_cli("--help")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: guillotine")
    assert "doctor" in proc.stdout and proc.stderr == ""


@pytest.mark.parametrize("argv, message", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["doctor", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["doctor", "--tool", "vivado"], "unknown tool 'vivado'"),
])
def test_bad_input_is_one_line(argv, message):
    proc = run_cli(*argv)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("guillotine: error: ") and message in lines[0]


def test_no_command_prints_help():
    proc = run_cli()
    assert proc.returncode != 0 and proc.stdout.startswith("usage: guillotine")
    assert "Traceback" not in proc.stderr
