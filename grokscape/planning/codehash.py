"""What a rule's code means, as one hash: its script, and the top-level definitions (functions, classes,
constants) of the library that the script reaches through the names it uses, found by parsing (no
hand-kept lists). An edit to a function reruns the rules whose scripts reach that function, and no other.

Reached are: every name the script uses, resolved through its imports (`from m import f`, `import m` with
`m.f`, `from package import module` with `module.f`); then every name used anywhere inside a reached
definition (its body, decorators, defaults, bases), resolved in its own module; every top-level statement
that binds a reached name (all of them, if several do); and a whole module where a module object is used
other than through its attributes. Importing a module runs some of it whatever is used: its statements
that bind no name (`matplotlib.use("Agg")`), and those that call the library's own code while the module
loads (a table built by calling a function of the module), count for every script that imports the module
(and the packages above it). Where it is unsure (a module used as a value, a name a module does not
define), it takes more, never less: an extra rerun is safe, a missed one is not.

Each definition counts by its syntax tree without docstrings, so comments, docstrings and formatting
rerun nothing. Free of torch: Snakemake calls it for every rule at start-up.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PACKAGE = "grokscape"
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
IMPORTS = (ast.Import, ast.ImportFrom)
SCRIPT = "__script__"


def script_code(script: str | Path, root: str | Path) -> str:
    """Hash of `script` and the library code it reaches; `root` is the folder holding the `grokscape` package."""
    reach = _Reach(Path(root))
    reach.include_all(reach.module_of(Path(script), SCRIPT))
    digest = hashlib.sha256()
    for module in sorted(reach.included, key=lambda m: (m.dotted != SCRIPT, m.dotted)):
        kept = sorted(reach.included[module])
        if kept:
            digest.update(f"\n{module.label}\n".encode())
            digest.update("\n".join(module.dumps[i] for i in kept).encode())
    return digest.hexdigest()[:16]


@dataclass(eq=False)
class _Module:
    """A parsed file: its top-level statements, what each binds, and where its library names come from."""

    path: Path
    dotted: str  # `grokscape.numerics.model`, or SCRIPT
    label: str  # its path inside the repository, hashed with its statements
    statements: list[ast.stmt]
    dumps: list[str]  # each statement's syntax tree without docstrings
    binds: list[set[str]]  # the names each statement binds in the module
    uses: list[tuple[list[tuple[str, ...]], set[str], list[ast.Import | ast.ImportFrom]]]  # `_uses` of each
    # library names the module imports: name -> (module, attribute); `from m import f` is (m, "f"),
    # `import m.n as x` is (m.n, None)
    imported: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    always: set[int] = field(default_factory=set)  # statements that run on import and count for every importer


class _Reach:
    """The top-level statements reached from a script, module by module (`included`)."""

    def __init__(self, root: Path):
        self.root = root
        self.included: dict[_Module, set[int]] = {}
        self.modules: dict[str, _Module | None] = {}

    def module_of(self, path: Path, dotted: str) -> _Module:
        label = str(path.relative_to(self.root)) if path.is_relative_to(self.root) else path.name
        return _parsed(path, dotted, label, path.read_text())

    def library(self, dotted: str) -> _Module | None:
        """The library module `dotted` (a file, or a package's __init__.py), or None outside the library."""
        if dotted not in self.modules:
            parts = dotted.split(".")
            folder = self.root.joinpath(*parts)
            found = next((p for p in (folder.with_suffix(".py"), folder / "__init__.py") if p.is_file()), None)
            self.modules[dotted] = self.module_of(found, dotted) if parts[0] == PACKAGE and found else None
        return self.modules[dotted]

    def load(self, dotted: str) -> _Module | None:
        """Import `dotted`: it, the packages above it and the library modules it imports run what runs on import."""
        parts = dotted.split(".")
        module = None
        for depth in range(1, len(parts) + 1):
            module = self.library(".".join(parts[:depth]))
            if module is not None and module not in self.included:
                self.included[module] = set()
                for index in sorted(module.always):
                    self.include(module, index)
                for target, attribute in module.imported.values():
                    self.load(
                        target
                        if attribute is None or not self.library(f"{target}.{attribute}")
                        else f"{target}.{attribute}"
                    )
        return module

    def include(self, module: _Module, index: int) -> None:
        kept = self.included.setdefault(module, set())
        if index not in kept:
            kept.add(index)
            self.follow(module, *module.uses[index])

    def include_all(self, module: _Module) -> None:
        for index in range(len(module.statements)):
            self.include(module, index)

    def follow(
        self,
        module: _Module,
        chains: list[tuple[str, ...]],
        alone: set[str],
        imports: list[ast.Import | ast.ImportFrom],
    ) -> None:
        """Reach what a statement uses (`_uses`): its names and attribute chains, and the library imported inside
        it (a top-level import counts where its names are used)."""
        for name in alone:
            self.reach_name(module, name, ())
        for chain in chains:
            self.reach_name(module, chain[0], chain[1:])
        for statement in imports:
            for target, attribute in _library_imports(statement, module).values():
                self.reach_import(target, attribute, ())

    def reach_name(self, module: _Module, name: str, attributes: tuple[str, ...]) -> None:
        """`name`, used in `module` with `.attributes` after it: where it was imported from, and the statements
        of the module that bind it (a library import among them is followed, not counted)."""
        if name in module.imported:
            self.reach_import(*module.imported[name], attributes)
        bound_here = False
        for index, bound in enumerate(module.binds):
            followed = name in module.imported and isinstance(module.statements[index], IMPORTS)
            if name in bound and not followed:
                self.include(module, index)
            bound_here |= name in bound
        if not bound_here and "*" in module.imported:  # perhaps from a star import: all of its module
            self.reach_import(module.imported["*"][0], None, ())

    def reach_import(self, target: str, attribute: str | None, attributes: tuple[str, ...]) -> None:
        """The library module `target` (or its `attribute`), used with `.attributes` after it."""
        if attribute is not None and self.library(f"{target}.{attribute}") is not None:
            target, attribute = f"{target}.{attribute}", None  # `from package import module`
        module = self.load(target)
        if module is None:
            return
        if attribute is not None:
            self.reach_defined(module, attribute)
            return
        while attributes and self.library(f"{module.dotted}.{attributes[0]}") is not None:
            module, attributes = self.load(f"{module.dotted}.{attributes[0]}"), attributes[1:]
        if attributes:
            self.reach_defined(module, attributes[0])
        else:
            self.include_all(module)  # the module itself used as a value: all of it

    def reach_defined(self, module: _Module, name: str) -> None:
        if any(name in bound for bound in module.binds):
            self.reach_name(module, name, ())
        else:
            self.include_all(module)  # not bound there (a star import, a name made at run time): all of it


@cache
def _parsed(path: Path, dotted: str, label: str, text: str) -> _Module:
    statements = [s for s in ast.parse(text, filename=str(path)).body if not _has_docstring([s])]  # no-ops
    binds = [_bound(statement) for statement in statements]
    uses = [_uses(statement) for statement in statements]
    module = _Module(path, dotted, label, statements, _dumps(text, path), binds, uses)
    for statement in statements:
        if isinstance(statement, IMPORTS):
            module.imported |= _library_imports(statement, module)
    external = {name for s, b in zip(statements, binds, strict=True) if isinstance(s, IMPORTS) for name in b}
    own = {name for bound in binds for name in bound} - (external - set(module.imported))
    module.always = {i for i, s in enumerate(statements) if not binds[i] or _calls_at_import(s, own)}
    return module


def _dumps(text: str, path: Path) -> list[str]:
    """Each top-level statement's syntax tree without docstrings (the module's own left out, as `_parsed` does)."""
    tree = ast.parse(text, filename=str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, DOCUMENTED) and _has_docstring(body):
            node.body = body[1:]
    return [ast.dump(statement) for statement in tree.body if not _has_docstring([statement])]


def _has_docstring(body: list[ast.stmt] | None) -> bool:
    first = body[0] if body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def _bound(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds in its module (inside compound statements too, not inside definitions)."""
    if isinstance(statement, DEFINITIONS):
        return {statement.name}
    if isinstance(statement, IMPORTS):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names if alias.name != "*"}
    names: set[str] = set()
    for node in _outside_definitions(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, DEFINITIONS) and node is not statement:
            names.add(node.name)
        elif isinstance(node, IMPORTS) and node is not statement:
            names |= _bound(node)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _outside_definitions(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and its descendants, but not what lies inside a function, class or lambda below it."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        if current is node or not isinstance(current, (*DEFINITIONS, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(current))


def _at_import(statement: ast.stmt) -> list[ast.AST]:
    """The parts of a top-level statement that run when its module is imported: a definition's decorators
    and defaults (and a class's bases and body), everything of any other statement."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        return [*statement.decorator_list, *statement.args.defaults, *filter(None, statement.args.kw_defaults)]
    if isinstance(statement, ast.ClassDef):
        body = [part for inner in statement.body for part in _at_import(inner)]
        return [*statement.decorator_list, *statement.bases, *statement.keywords, *body]
    return [statement]


def _calls_at_import(statement: ast.stmt, own: set[str]) -> bool:
    """Whether importing the module calls the library's own code (`own`: names bound by the module, but for
    imports from outside the library) in `statement`: what the call does may matter to any importer."""
    return any(
        isinstance(node, ast.Call) and _base_name(node.func) in own
        for part in _at_import(statement)
        for node in _outside_definitions(part)
    )


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _uses(node: ast.AST) -> tuple[list[tuple[str, ...]], set[str], list[ast.Import | ast.ImportFrom]]:
    """The attribute chains (`m.f.g` as ("m", "f", "g")) and the names used alone in `node`, and the imports in it."""
    nodes = list(ast.walk(node))
    values = {id(child.value) for child in nodes if isinstance(child, ast.Attribute)}
    chains, bases = [], set()
    for child in nodes:
        if isinstance(child, ast.Attribute) and id(child) not in values:
            chain, base = [child.attr], child.value
            while isinstance(base, ast.Attribute):
                chain.insert(0, base.attr)
                base = base.value
            if isinstance(base, ast.Name):
                chains.append((base.id, *chain))
                bases.add(id(base))
    alone = {child.id for child in nodes if isinstance(child, ast.Name) and id(child) not in bases}
    return chains, alone, [child for child in nodes if isinstance(child, IMPORTS) and child is not node]


def _library_imports(statement: ast.Import | ast.ImportFrom, module: _Module) -> dict[str, tuple[str, str | None]]:
    """Library names an import binds: name -> (module, attribute; None for the module itself or a star)."""
    targets: dict[str, tuple[str, str | None]] = {}
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            dotted = alias.name if alias.asname else alias.name.split(".")[0]
            targets[alias.asname or dotted] = (dotted, None)
    else:
        base = statement.module or ""
        if statement.level:  # relative, inside the library
            package = module.dotted.split(".")
            package = package if module.path.name == "__init__.py" else package[:-1]
            package = package[: len(package) - statement.level + 1]
            base = ".".join([*package, base] if base else package)
        for alias in statement.names:
            targets[alias.asname or alias.name] = (base, None if alias.name == "*" else alias.name)
    return {name: target for name, target in targets.items() if target[0].split(".")[0] == PACKAGE}
