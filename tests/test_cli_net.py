"""``guillotine net``: host end of the NIC gate link (pyserial loopback and simulated SoC)."""

import pytest

from guillotine.cli import main


def test_net_over_serial_loopback(capsys):
    assert main(["net", "--port", "loop://", "--send", "1:hello", "--send", "2:hex:00ff00",
                 "--listen", "0.3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any("tag 1" in l and "'hello'" in l for l in out)
    assert any("tag 2" in l and "00ff00" in l for l in out)


def test_net_into_simulated_soc(capsys):
    assert main(["net", "--sim", "--send", "0:PING", "--message", "EXFIL"]) == 0
    out = capsys.readouterr().out
    assert "tag 0    5 bytes  'EXFIL'" in out          # released by the hypervisor, tagged
    assert "model 0 received: b'PING'" in out


@pytest.mark.parametrize("argv, words", [
    (["net", "--sim", "--send", "300:x"], "0..255"),
    (["net", "--sim", "--send", "nocolon"], "TAG:payload"),
    (["net", "--sim", "--send", "0:hex:zz"], "not hex"),
    (["net", "--sim", "--send", "0:" + "x" * 40], "--max-frame 16"),
    (["net", "--port", "/dev/does-not-exist", "--send", "0:x"], "cannot open serial port"),
])
def test_net_bad_input(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
