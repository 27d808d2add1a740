"""The SoC with the NIC gate and its UART link: a model's frame is quarantined, inspected and
released by the hypervisor and leaves on the network line tagged by hardware; a frame from the
network reaches the model it is addressed to; the kill latch cuts the link."""

from guillotine.firmware.programs import RX_BUFFER, gate_relay_hypervisor, network_model
from guillotine.hdl.kill_latch import Level
from guillotine.hdl.soc import GuillotineSoC
from guillotine.sim.nic_host import decode_stream, encode_frame
from guillotine.sim.soc_sim import run_soc

CLK, NET_BAUD = 4_000_000, 250_000
DIV = CLK // NET_BAUD


def _soc():
    return GuillotineSoC(1, gate_relay_hypervisor(1), model_images=[network_model(b"HELLO")],
                         model_ram_bytes=4096, clk_hz=CLK, baud=2_000_000, network=True,
                         net_baud=NET_BAUD, gate_params=dict(max_frame=16, rate=100_000))


def _uart_bits(data):
    bits = []
    for byte in data:
        bits += [0] + [(byte >> i) & 1 for i in range(8)] + [1]
    return bits


def _uart_decode(samples):
    """8N1 bytes from a line sampled once per cycle at DIV cycles per bit."""
    out, i = bytearray(), 0
    while i < len(samples) - 10 * DIV:
        if samples[i] == 0:
            mid = i + DIV // 2
            byte = sum(samples[mid + DIV * (k + 1)] << k for k in range(8))
            out.append(byte)
            i = mid + DIV * 9
        else:
            i += 1
    return bytes(out)


def test_frame_is_quarantined_released_and_tagged():
    soc = _soc()
    samples = []

    def sample(ctx, cycle):                               # the line, once per cycle
        samples.append(ctx.get(soc.net_tx))
    run = run_soc(soc, 12_000, stimulus=sample)
    frames, _ = decode_stream(_uart_decode(samples))
    assert "G0 00000005" in run.console                   # the hypervisor saw 5 bytes
    assert frames == [(0, b"HELLO")]                      # tag 0 added by hardware


def test_ingress_frame_reaches_the_model():
    soc = _soc()
    wire = _uart_bits(b"\x00" + encode_frame(0, b"PING"))
    start = 2000

    def drive(ctx, cycle):
        k = (cycle - start) // DIV
        ctx.set(soc.net_rx, wire[k] if 0 <= k < len(wire) else 1)
    probes = {f"b{i}": soc.tiles[0].ram_data[RX_BUFFER // 4 + i] for i in range(2)}
    probes["len"] = soc.tiles[0].ram_data[RX_BUFFER // 4 - 1]
    run = run_soc(soc, start + len(wire) * DIV + 3000, stimulus=drive, probes=probes)
    assert run.probes["len"] == 4
    assert run.probes["b0"].to_bytes(4, "little") == b"PING"


def test_severance_holds_the_line_idle():
    samples = []
    soc_latch = dict(panic_level="SEVERANCE")
    soc = GuillotineSoC(1, gate_relay_hypervisor(1), model_images=[network_model(b"LEAK")],
                        model_ram_bytes=4096, clk_hz=CLK, baud=2_000_000, network=True,
                        net_baud=NET_BAUD, gate_params=dict(max_frame=16, rate=100_000),
                        latch=soc_latch)

    def stim(ctx, cycle):
        ctx.set(soc.panic, 1)
        samples.append(ctx.get(soc.net_tx))
    run = run_soc(soc, 12_000, stimulus=stim)
    assert run.level == Level.SEVERANCE
    assert all(s == 1 for s in samples)                   # nothing ever left
    assert "G0 00000004" in run.console                   # the frame was quarantined


def test_firmware_sets_the_rate_limiter_before_lock():
    """The relay firmware writes RATE/BURST, then LOCK; the gate keeps the written values."""
    soc = GuillotineSoC(1, gate_relay_hypervisor(1, rate_period=97, burst=16),
                        model_images=[network_model(b"HI")], model_ram_bytes=4096, clk_hz=CLK,
                        baud=2_000_000, network=True, net_baud=NET_BAUD,
                        gate_params=dict(max_frame=16, buffer_frames=2, rate=100_000))
    run = run_soc(soc, 3000, probes={"lock": soc.latch.lock, "rate": soc.gate.period_cfg[0],
                                     "burst": soc.gate.burst_cfg[0]})
    assert run.probes == {"lock": 1, "rate": 97, "burst": 16}
