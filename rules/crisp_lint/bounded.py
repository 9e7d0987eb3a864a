"""Reading user files without hanging or exhausting memory: the one place both crisp-lint
and crisp-ml open a file a user controls and parse its YAML.

- ``read_bytes`` opens without blocking (a FIFO or device named like a config file would
  otherwise wait forever for a writer), then refuses anything that is not a regular file
  and anything larger than the limit.
- ``load_yaml`` composes the document first, then walks the node graph once: aliases may
  add at most ``ALIAS_NODE_BUDGET`` nodes to the expanded document (a "billion laughs"
  bomb of 1.3 KB expands to 10^9), a node may not contain itself, and nesting stops at
  ``MAX_DEPTH``. Only then is the document constructed, so every rule walks a bounded tree.
- ``check_depth`` bounds the nesting of parsed JSON and TOML the same way, so a rule that
  recurses never meets a RecursionError.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

MAX_BYTES = 5 * 1024 * 1024
ALIAS_NODE_BUDGET = 10_000  # nodes aliases may add to the document once expanded
MAX_DEPTH = 200  # containers inside containers; DVC, params and reports need a handful
BOMB_MESSAGE = (
    "too many aliases/nodes (aliases expand to more than {budget} nodes); YAML bombs are refused"
)


class NotRegularFile(OSError):
    """The path names a FIFO, socket, device or folder, which crisp never reads."""


class TooLarge(OSError):
    """The file is larger than the limit the caller gave."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"too large ({size} bytes; the limit is {limit})")
        self.size = size
        self.limit = limit


class LoadError(ValueError):
    """A document refused by the budget: ``line`` is 1-based where known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def describe(mode: int) -> str:
    """What kind of non-regular file ``mode`` is, for a message."""
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_bytes(path: str | os.PathLike[str], limit: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file ``path``. Never blocks on a FIFO or device: raises
    NotRegularFile for one, TooLarge past ``limit``, OSError when it cannot be read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        info = os.stat(path)
    except OSError:
        raise
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(f"is {describe(info.st_mode)}, not a regular file")
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)  # what was opened, not what was there a moment ago
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"is {describe(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise TooLarge(info.st_size, limit)
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1
            data = handle.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise TooLarge(len(data), limit)
    return data


def read_text(path: str | os.PathLike[str], limit: int = MAX_BYTES) -> str:
    """``read_bytes`` decoded as UTF-8 (a leading BOM dropped); UnicodeDecodeError if not."""
    return read_bytes(path, limit).decode("utf-8").removeprefix("\ufeff")


def is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def load_yaml(text: str, loader: Any = None) -> Any:
    """``text`` parsed by a safe loader, refused (LoadError) when aliases blow it up, it
    contains itself or nests deeper than MAX_DEPTH. yaml's own errors pass through."""
    import yaml

    loader_class = loader or getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    instance = loader_class(text)
    try:
        node = instance.get_single_node()
        if node is None:
            return None
        check_nodes(node)
        return instance.construct_document(node)
    finally:
        instance.dispose()


def _children(node: Any) -> list[Any]:
    value = node.value
    if not isinstance(value, list):
        return []  # a scalar
    if value and isinstance(value[0], tuple):  # a mapping: (key, value) pairs
        return [part for pair in value for part in pair]
    return value


def _line(node: Any) -> int | None:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def check_nodes(root: Any) -> None:
    """Walk a composed YAML node graph once (iteratively, each node once)."""
    expanded: dict[int, int] = {}  # id(node) -> size with aliases expanded
    unique = 0
    on_path = {id(root)}
    sizes = [1]
    stack = [(root, iter(_children(root)))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
            size = sizes.pop()
            expanded[id(node)] = size
            unique += 1
            if size - unique > ALIAS_NODE_BUDGET:
                raise LoadError(BOMB_MESSAGE.format(budget=ALIAS_NODE_BUDGET), _line(node))
            if sizes:
                sizes[-1] += size
            continue
        key = id(child)
        if key in on_path:
            raise LoadError(
                "a node contains itself (a recursive alias); recursive YAML is refused",
                _line(child),
            )
        if key in expanded:  # reached again through an alias
            sizes[-1] += expanded[key]
            if sizes[-1] - unique > ALIAS_NODE_BUDGET:
                raise LoadError(BOMB_MESSAGE.format(budget=ALIAS_NODE_BUDGET), _line(child))
            continue
        if len(stack) >= MAX_DEPTH:
            raise LoadError(f"nested more than {MAX_DEPTH} levels deep", _line(child))
        on_path.add(key)
        sizes.append(1)
        stack.append((child, iter(_children(child))))


def check_depth(value: Any, what: str = "document") -> None:
    """Raise LoadError when parsed JSON or TOML nests deeper than MAX_DEPTH."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            items: Any = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise LoadError(f"the {what} is nested more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in items if isinstance(child, (dict, list)))
