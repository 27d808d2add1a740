"""Tables for benchmark reports: one Markdown form for docs/, one text form for the terminal."""

import os
import platform

__all__ = ["markdown_table", "text_table", "machine_description", "publish"]


def markdown_table(rows):
    """``rows[0]`` is the header; every row is a sequence of strings."""
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def text_table(rows):
    """The same rows aligned in columns for a terminal."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(f"{c:<{w}}" for c, w in zip(r, widths)).rstrip() for r in rows)


def machine_description():
    """Where a measurement was taken: architecture, cores, Python version."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def publish(path, text, tables):
    """Write the Markdown page ``text`` to ``path`` and print ``tables`` for the terminal."""
    from pathlib import Path
    Path(path).write_text(text)
    for rows in tables:
        print(text_table(rows) + "\n")
    print(f"wrote {os.path.relpath(path)}")
