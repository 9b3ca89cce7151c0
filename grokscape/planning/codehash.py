"""What a rule's code means, as one hash: its script and every library module the script reaches
through imports, found by parsing (no hand-kept lists). Each file counts by its syntax tree with
docstrings removed, so comments, docstrings and formatting rerun nothing, while a change to a
function reruns exactly the rules whose scripts reach its module. Free of torch: Snakemake calls
it for every rule at start-up.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "grokscape"
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def script_code(script: str | Path, root: str | Path) -> str:
    """Hash of `script` and the `grokscape` modules it reaches; `root` is the folder holding the package."""
    root = Path(root)
    meaning, imports = _meaning(Path(script), root)
    todo = set(imports)
    digest = hashlib.sha256(meaning.encode())
    reached: set[Path] = set()
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo |= _meaning(module, root)[1]
    for module in sorted(reached):
        digest.update(f"\n{module.relative_to(root)}\n{_meaning(module, root)[0]}".encode())
    return digest.hexdigest()[:16]


def _meaning(path: Path, root: Path) -> tuple[str, frozenset[Path]]:
    """The file's syntax tree without docstrings, and the library modules it imports."""
    return _parsed(path, root, path.read_text())


@cache
def _parsed(path: Path, root: Path, text: str) -> tuple[str, frozenset[Path]]:
    tree = ast.parse(text, filename=str(path))
    imports = frozenset(_library_imports(tree, path, root))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, DOCUMENTED) and _has_docstring(body):
            node.body = body[1:]
    return ast.dump(tree), imports


def _has_docstring(body: list[ast.stmt]) -> bool:
    first = body[0] if body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def _library_imports(tree: ast.Module, path: Path, root: Path) -> set[Path]:
    """Files of the library modules `tree` imports anywhere (also inside functions), with their packages."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import inside the library
                package = path.relative_to(root).parent.parts
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    files = set()
    for name in names:
        parts = name.split(".")
        if parts[0] != PACKAGE:
            continue
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
            files |= {f for f in _files(root, parts[:depth]) if f.is_file()}
    return files


def _files(root: Path, parts: list[str]) -> tuple[Path, Path]:
    folder = root.joinpath(*parts)
    return folder.with_suffix(".py"), folder / "__init__.py"
