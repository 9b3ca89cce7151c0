"""The code hash behind each rule's `code` param: meaning, not bytes; imports found, not listed."""

from pathlib import Path

from grokscape.planning.codehash import script_code


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


LIBRARY = {
    "grokscape/__init__.py": "",
    "grokscape/a.py": '"""Module a."""\nfrom .b import f\n\n\ndef g():\n    """Twice f."""\n    return 2 * f()\n',
    "grokscape/b.py": "def f():\n    return 1\n",
    "grokscape/c.py": "def h():\n    return 3\n",
    "step.py": "from grokscape import a\n\nprint(a.g())\n",
}


def test_comments_docstrings_and_layout_change_nothing(tmp_path):
    write(tmp_path, LIBRARY)
    before = script_code(tmp_path / "step.py", tmp_path)
    write(
        tmp_path,
        {"grokscape/a.py": '"""Other words."""\n# a comment\nfrom .b import f\n\n\n\ndef g():\n    return 2 * f()'},
    )
    assert script_code(tmp_path / "step.py", tmp_path) == before


def test_code_reached_through_imports_counts_and_other_code_does_not(tmp_path):
    write(tmp_path, LIBRARY)
    before = script_code(tmp_path / "step.py", tmp_path)
    write(tmp_path, {"grokscape/c.py": "def h():\n    return 4\n"})  # not imported by the step
    assert script_code(tmp_path / "step.py", tmp_path) == before
    write(tmp_path, {"grokscape/b.py": "def f():\n    return 2\n"})  # reached via a relative import
    assert script_code(tmp_path / "step.py", tmp_path) != before
