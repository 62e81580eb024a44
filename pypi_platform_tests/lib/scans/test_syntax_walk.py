"""Walks over syntax trees with an explicit stack: what they find must match ast.walk."""

import ast

from pypi_platform.lib.scans.syntax_walk import binary_operations_under

SOURCE = """
x = "a" + "b" + f"{1 + 2}"
def f(a=3 * 4, *, b=[5 - 6]):
    return g(h("%s" % a), key=lambda v: v ** 2) if a else {"k": 7 // 8}
class C(Base, metaclass=M):
    y: int = 9 | 10
match x:
    case [1, *rest] if rest + 1:
        pass
"""


def test_binary_operations_under_finds_every_binop_that_ast_walk_finds():
    tree = ast.parse(SOURCE)
    expected = {id(node) for node in ast.walk(tree) if isinstance(node, ast.BinOp)}
    found = binary_operations_under(tree)
    assert {id(node) for node in found} == expected and len(found) == len(expected) == 10
