"""No text a user (or a feed, or a post) sends reaches SQL except as a bound parameter: a
static check over every module of digest/ and bot/ that each raw-SQL entry point gets a
literal or a module constant, never a string built at run time; the reviewed exceptions
are listed with their reason."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.builders import ROOT

# where raw SQL text enters SQLAlchemy or the driver: its first argument is run as SQL
RAW_SQL = {"text", "exec_driver_sql", "literal_column", "executescript"}
# these take a construct (select, insert…) as well as text: only a built string is refused
EXECUTES = {"execute", "executemany"}
# (module, function, call) -> why the string built there holds no outside text
REVIEWED = {
    ("digest/migrations.py", "_v3_digest_windows", "exec_driver_sql"):
        "ALTER TABLE … ADD COLUMN from a literal template filled with literal table, column and type names",
}


@dataclass(frozen=True)
class RawSql:
    """One call that runs SQL text, and what its SQL argument is."""

    module: str
    function: str
    call: str
    line: int
    argument: ast.expr | None


def _calls(path: Path) -> list[RawSql]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[RawSql] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Call):
                name = (child.func.attr if isinstance(child.func, ast.Attribute)
                        else child.func.id if isinstance(child.func, ast.Name) else "")
                if name in RAW_SQL | EXECUTES:
                    found.append(RawSql(_module(path), function, name, child.lineno,
                                        child.args[0] if child.args else None))
            visit(child, inner)

    visit(tree, "<module>")
    return found


def _module(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _constants(path: Path) -> set[str]:
    """Module-level names bound once to a string literal (the module's SQL constants)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound: dict[str, int] = {}
    literal: set[str] = set()
    for node in ast.walk(tree):
        for target in _targets(node):
            bound[target] = bound.get(target, 0) + 1
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and _is_literal(node.value):
            literal.update(_targets(node))
    return {name for name in literal if bound[name] == 1}


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _is_literal(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_built_string(node: ast.expr) -> bool:
    """An f-string, `%` or `+` on strings, or `.format()` / `.join()`: SQL made at run time."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return any(_is_literal(side) or _is_built_string(side) for side in (node.left, node.right))
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("format", "join", "replace"))


def _problem(call: RawSql, constants: set[str]) -> str | None:
    argument = call.argument
    if argument is None:
        return None
    if call.call in EXECUTES:
        return "a string built at run time" if _is_built_string(argument) else None
    return None if _is_fixed(argument, constants) else "not a literal or a module constant"


def _is_fixed(node: ast.expr, constants: set[str]) -> bool:
    """A literal, a module constant, or a choice (`a if c else b`) between fixed ones."""
    if isinstance(node, ast.IfExp):
        return _is_fixed(node.body, constants) and _is_fixed(node.orelse, constants)
    return _is_literal(node) or (isinstance(node, ast.Name) and node.id in constants)


def _modules() -> list[Path]:
    return sorted(p for package in ("digest", "bot") for p in (ROOT / package).rglob("*.py"))


def test_every_raw_sql_call_in_digest_and_bot_gets_a_literal_or_a_reviewed_template() -> None:
    problems, reviewed, seen = [], set(), 0
    for path in _modules():
        constants = _constants(path)
        for call in _calls(path):
            seen += call.call in RAW_SQL
            problem = _problem(call, constants)
            key = (call.module, call.function, call.call)
            if problem is not None and key in REVIEWED:
                reviewed.add(key)
            elif problem is not None:
                problems.append(f"{call.module}:{call.line} {call.function}: {call.call}(): {problem}")
    assert problems == []
    assert seen >= 10  # the walk found the raw SQL there is (FTS5 and tsvector upkeep, DDL, pragmas)
    assert reviewed == set(REVIEWED)  # an exception no longer needed is taken off the list


@pytest.mark.parametrize("source, bad", [
    ('conn.execute(sa.text(f"SELECT * FROM t WHERE q = \'{query}\'"))', True),
    ('conn.exec_driver_sql("SELECT * FROM t WHERE q = \'%s\'" % query)', True),
    ('conn.exec_driver_sql("DELETE FROM " + table)', True),
    ('conn.execute("SELECT {}".format(query))', True),
    ('conn.execute(sa.text(QUERY))', False),
    ('conn.execute(sa.text(query))', True),  # a local name: could hold anything
    ('conn.execute(sa.text("SELECT :q"), {"q": query})', False),
    ('conn.execute(sa.select(t).where(t.c.q == query))', False),
    ('sa.literal_column(name)', True),
    ('conn.exec_driver_sql("BEGIN IMMEDIATE" if query else QUERY)', False),
    ('conn.exec_driver_sql("BEGIN" if query else name)', True),
])
def test_the_check_tells_built_sql_from_literals(tmp_path: Path, source: str, bad: bool) -> None:
    # the checker itself, on code written to pass it and code written to fail it
    path = tmp_path / "probe.py"
    path.write_text(f"QUERY = 'SELECT 1'\n\n\ndef probe(conn, sa, t, query, name):\n    {source}\n", encoding="utf-8")
    problems = [p for p in (_problem(c, _constants(path)) for c in _calls(path)) if p]
    assert bool(problems) is bad, (source, problems)
