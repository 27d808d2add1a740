"""Benchmark table helpers."""

from guillotine.report import machine_description, markdown_table, text_table

ROWS = [("config", "LC"), ("default", "399"), ("minimal", "297")]


def test_markdown_table():
    assert markdown_table(ROWS).splitlines() == [
        "| config | LC |", "|---|---|", "| default | 399 |", "| minimal | 297 |"]


def test_text_table_aligns_columns():
    lines = text_table(ROWS).splitlines()
    assert [line.index(value) for line, value in zip(lines, ("LC", "399", "297"))] == [9, 9, 9]


def test_machine_description_names_cores():
    assert "cores, Python 3." in machine_description()


def test_publish_writes_the_page_and_prints_the_tables(tmp_path, capsys):
    from guillotine.report import publish
    publish(tmp_path / "page.md", "# page\n", [ROWS])
    assert (tmp_path / "page.md").read_text() == "# page\n"
    out = capsys.readouterr().out
    assert "default  399" in out and "wrote" in out
