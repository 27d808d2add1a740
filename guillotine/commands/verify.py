"""``guillotine verify``: security checks of the SoC netlist (``--flows``: information-flow
audit against the allowed-crossings table)."""

from guillotine import GuillotineError


def register(sub):
    p = sub.add_parser("verify", help="audit the SoC netlist (information flows)",
                       description="Elaborate the SoC, flatten it with Yosys and check every "
                                   "signal crossing between the hypervisor and model domains "
                                   "against the allowed-crossings table (DESIGN §2).")
    p.add_argument("--flows", action="store_true", help="run the information-flow audit")
    p.add_argument("--n-models", type=int, default=2, help="model cores (1..4, default 2)")
    p.add_argument("--workdir", default="build/flows", help="where the netlist is written")
    p.add_argument("--no-network", action="store_true",
                   help="audit the SoC with the mailbox loopback instead of the NIC gate + PHY")
    p.set_defaults(func=run)


def run(args):
    from guillotine.hdl.soc import GuillotineSoC
    from guillotine.sim.flows import audit_flows

    if not args.flows:
        raise GuillotineError("nothing to verify; use --flows")
    # Small memories: the audit is about wires, not sizes (the decoders are the same logic).
    net = {} if args.no_network else dict(network=True, gate_params=dict(max_frame=8))
    soc = GuillotineSoC(args.n_models, b"", rom_bytes=64, ram_bytes=64, model_ram_bytes=64,
                        **net)
    report = audit_flows(soc, args.workdir)
    print(report.table())
    if report.ok:
        print(f"\n{len(report.crossings)} crossings, all on the allowed list: no illegal crossing")
        return 0
    print(f"\n{len(report.violations)} illegal crossing(s):")
    for v in report.violations:
        print(f"  - {v}")
    return 1
