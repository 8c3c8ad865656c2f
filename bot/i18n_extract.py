"""`pybabel extract`'s method for this project (see [tool.babel] in pyproject.toml).

Babel's Python extractor, plus `translator(language)("...")`, a call it does not see because
the msgid is not an argument of a keyword. `built_at_run_time` finds msgids no catalog can hold.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python

TRANSLATOR = "translator"


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_translator_call(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Call) and _called_name(call.func.func) == TRANSLATOR


def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Collection[str],
            options: Any) -> Iterator[Any]:
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _is_translator_call(node) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node.lineno, "_", arg.value, []


def _msgid_positions(spec: object) -> list[int]:
    """0-based positions of the msgid (and plural) arguments in a parsed keyword spec."""
    if spec is None:
        return [0]
    if isinstance(spec, dict):  # argument-count specific specs: any of them
        return sorted({p for s in spec.values() for p in _msgid_positions(s)})
    assert isinstance(spec, tuple)
    return [index - 1 for index in spec if isinstance(index, int)]


def built_at_run_time(source: str, filename: str, keywords: Mapping[str, object]) -> list[str]:
    """Translation calls whose msgid is an f-string or built with `+`, as `path:line: ...`."""
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node.func)
        if _is_translator_call(node):
            positions = [0]
        elif name is not None and name in keywords:
            positions = _msgid_positions(keywords[name])
        else:
            continue
        for position in positions:
            if position < len(node.args) and isinstance(node.args[position],
                                                        ast.JoinedStr | ast.BinOp):
                problems.append(f"{filename}:{node.lineno}: the text is built at run time "
                                "(f-string or +); pass the changing parts as {placeholders} "
                                "instead")
    return problems
