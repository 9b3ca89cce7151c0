"""The code hash behind each rule's `code` param: meaning, not bytes; what a script reaches, found by parsing,
at the grain of top-level definitions (an edit to a function no script of a rule reaches reruns nothing)."""

from pathlib import Path

import pytest

from grokscape.planning.codehash import script_code


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


LIBRARY = {
    "grokscape/__init__.py": "",
    "grokscape/a.py": '"""Module a."""\nfrom .b import f\n\n\ndef g():\n    """Twice f."""\n    return 2 * f()\n',
    "grokscape/b.py": "def f():\n    return one()\n\n\ndef one():\n    return 1\n\n\ndef unused():\n    return 0\n",
    "grokscape/c.py": "def h():\n    return 3\n",
    "grokscape/sub/__init__.py": "",
    "grokscape/sub/d.py": "LIMIT = 3\nOTHER = 4\n\n\ndef k():\n    return LIMIT\n\n\ndef m():\n    return OTHER\n",
    "step.py": "from grokscape import a\n\nprint(a.g())\n",
}


def changes(tmp_path: Path, files: dict[str, str], script: str = "step.py") -> bool:
    """Whether rewriting `files` (over LIBRARY) changes the hash of `script`."""
    write(tmp_path, LIBRARY)
    before = script_code(tmp_path / script, tmp_path)
    write(tmp_path, files)
    return script_code(tmp_path / script, tmp_path) != before


def test_comments_docstrings_and_layout_change_nothing(tmp_path):
    rewritten = '"""Other words."""\n# a comment\nfrom .b import f\n\n\n\ndef g():\n    return 2 * f()'
    assert not changes(tmp_path, {"grokscape/a.py": rewritten})


@pytest.mark.parametrize(
    ("module", "text", "reached"),
    [
        ("grokscape/c.py", "def h():\n    return 4\n", False),  # never imported
        ("grokscape/b.py", LIBRARY["grokscape/b.py"].replace("return 0", "return 5"), False),  # unused there
        ("grokscape/b.py", LIBRARY["grokscape/b.py"].replace("return 1", "return 2"), True),  # g → f → one
        ("grokscape/b.py", LIBRARY["grokscape/b.py"] + "\n\ndef extra():\n    return 1\n", False),  # a new function
        ("grokscape/b.py", LIBRARY["grokscape/b.py"] + "\nprint('imported')\n", True),  # runs on every import
        ("grokscape/b.py", LIBRARY["grokscape/b.py"] + "\nTABLE = {1: unused()}\n", True),  # calls its code on import
        ("grokscape/b.py", LIBRARY["grokscape/b.py"] + "\nTABLE = {1: 2}\n", False),  # a constant nobody uses
        ("grokscape/__init__.py", "print('package')\n", True),  # the package runs before its modules
    ],
)
def test_a_script_reaches_the_definitions_its_names_lead_to_and_nothing_else(tmp_path, module, text, reached):
    assert changes(tmp_path, {module: text}) == reached


LIMIT, OTHER = ("LIMIT = 3", "LIMIT = 5"), ("OTHER = 4", "OTHER = 5")  # edits of d.py's two constants


@pytest.mark.parametrize(
    ("script", "reached", "unreached"),
    [
        ("import grokscape.sub.d\n\nprint(grokscape.sub.d.k())\n", LIMIT, OTHER),  # import m, then m.f
        ("from grokscape.sub import d\n\nprint(d.k())\n", LIMIT, OTHER),  # from a package, a module
        ("from grokscape.sub.d import m as k\n\nprint(k())\n", OTHER, LIMIT),  # renamed on import
        ("def run():\n    from grokscape.sub.d import k\n\n    return k()\n", LIMIT, OTHER),  # inside a function
    ],
)
def test_names_are_resolved_through_every_kind_of_import(tmp_path, script, reached, unreached):
    write(tmp_path, {"other.py": script})
    d = LIBRARY["grokscape/sub/d.py"]
    assert changes(tmp_path, {"grokscape/sub/d.py": d.replace(*reached)}, "other.py")
    assert not changes(tmp_path, {"grokscape/sub/d.py": d.replace(*unreached)}, "other.py")


@pytest.mark.parametrize(
    "script",
    [
        "from grokscape.sub import d\n\nprint(d)\n",  # the module itself used as a value
        "from grokscape.sub.d import *\n\nprint(k())\n",  # a star import: which names, unknown
    ],
)
def test_where_it_cannot_tell_what_is_used_it_takes_the_whole_module(tmp_path, script):
    write(tmp_path, {"other.py": script})
    assert changes(
        tmp_path, {"grokscape/sub/d.py": LIBRARY["grokscape/sub/d.py"].replace("OTHER = 4", "OTHER = 5")}, "other.py"
    )
