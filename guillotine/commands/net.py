"""``guillotine net``: the host end of the NIC gate's link.

Send frames to a model and print the frames the gate released, with timestamps: over a serial
port (a board, or a pyserial URL such as ``loop://``) or into a simulated SoC (``--sim``).
"""

import time

from guillotine import GuillotineError


def _frame(text):
    """``TAG:payload`` (text) or ``TAG:hex:DEADBEEF``."""
    tag, sep, rest = text.partition(":")
    if not sep:
        raise GuillotineError(f"frame {text!r} is not TAG:payload or TAG:hex:BYTES")
    try:
        tag_value = int(tag, 0)
    except ValueError:
        tag_value = -1
    if not 0 <= tag_value <= 255:
        raise GuillotineError(f"frame tag {tag!r} is not a number 0..255 (the model index)")
    if rest.startswith("hex:"):
        try:
            return tag_value, bytes.fromhex(rest[4:])
        except ValueError:
            raise GuillotineError(f"frame payload {rest[4:]!r} is not hex bytes") from None
    return tag_value, rest.encode()


def register(sub):
    p = sub.add_parser("net", help="send frames to a model through the NIC gate and print the "
                                   "frames it releases",
                       description="The host end of the NIC gate's UART link (COBS + CRC-16 "
                                   "frames: tag byte, payload, CRC).")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial device or pyserial URL (e.g. /dev/ttyUSB1, "
                                      "loop://)")
    where.add_argument("--sim", action="store_true",
                       help="bridge into a simulated SoC (one model that sends --message and "
                            "stores the first frame it receives)")
    p.add_argument("--baud", type=int, default=115_200, help="line rate (default 115200)")
    p.add_argument("--send", action="append", default=[], metavar="TAG:PAYLOAD",
                   help="frame to send (repeatable); TAG:text or TAG:hex:BYTES")
    p.add_argument("--listen", type=float, default=1.0, metavar="SECONDS",
                   help="--port: how long to print received frames (default 1 s)")
    p.add_argument("--message", default="HELLO", help="--sim: what the model sends")
    p.add_argument("--max-frame", type=int, default=16, help="largest payload (default 16)")
    p.set_defaults(func=run)


def _show(stamp, tag, payload):
    text = payload.decode("ascii", "replace") if all(32 <= b < 127 for b in payload) else None
    shown = repr(text) if text is not None else payload.hex()
    print(f"{stamp}  tag {tag}  {len(payload):3d} bytes  {shown}")


def run(args):
    frames = [_frame(f) for f in args.send]
    for tag, payload in frames:
        if len(payload) > args.max_frame:
            raise GuillotineError(f"frame for tag {tag} has {len(payload)} bytes; the largest "
                                  f"is --max-frame {args.max_frame}")
    if args.sim:
        from guillotine.sim.net_sim import run_network
        clk = 4_000_000
        result = run_network(frames, message=args.message.encode(), clk_hz=clk,
                             max_frame=args.max_frame)
        print(f"simulated SoC, {clk / 1e6:g} MHz, link {250_000} baud; frames released by the "
              f"gate:")
        for cycle, tag, payload in result.released:
            _show(f"{cycle / clk * 1e6:10.1f} us", tag, payload)
        if frames:
            print(f"model 0 received: {result.model_received!r}")
        return 0
    from guillotine.sim.nic_host import SerialLink
    with SerialLink(args.port, args.baud, max_frame=args.max_frame) as link:
        for tag, payload in frames:
            link.send(tag, payload)
        start = time.monotonic()
        while time.monotonic() - start < args.listen:
            for tag, payload in link.receive():
                _show(f"{time.monotonic() - start:9.3f} s", tag, payload)
        stats = link.stats.as_dict()
        bad = {k: v for k, v in stats.items() if v and not k.endswith("frames")}
        if bad:
            print(f"dropped: {bad}")
    return 0
