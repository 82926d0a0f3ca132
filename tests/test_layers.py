"""The import layering of ARCHITECTURE.md, checked over the source files with ast."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("api", "bot", "core", "handlers", "models", "scheduler")
ADAPTERS = ("bot.wechat", "bot.telegram", "bot.console")
# folder -> imports it must never make (a prefix matches the module and its children)
FORBIDDEN = {
    "models": ("api", "bot", "core", "handlers", "scheduler"),
    # core's use cases work through the session they are handed: no engines, no network.
    "core": ("api", "bot", "handlers", "scheduler", "models.db", "httpx", "aiohttp", "fastapi"),
    "handlers": ("api", "scheduler", "fastapi", "httpx", "telegram", "wechatpy", *ADAPTERS),
    "scheduler": ("api", "handlers", "fastapi", *ADAPTERS),
}
# Adapters are handed dispatch: they never import handlers.
ADAPTER_FORBIDDEN = ("handlers", "api")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _hits(module: str, banned: tuple[str, ...]) -> bool:
    return any(module == b or module.startswith(b + ".") for b in banned)


def _sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layer_imports_only_what_it_may(folder):
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {mod}"
        for p in _sources(folder)
        for line, mod in _imports(p)
        if _hits(mod, FORBIDDEN[folder])
    ]
    assert not bad, "\n".join(bad)


def test_channel_adapters_do_not_import_handlers():
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {mod}"
        for p in _sources("bot")
        if _module_name(p).startswith(ADAPTERS)
        for line, mod in _imports(p)
        if _hits(mod, ADAPTER_FORBIDDEN)
    ]
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_api():
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {mod}"
        for folder in OURS
        if folder != "api"
        for p in _sources(folder)
        for line, mod in _imports(p)
        if _hits(mod, ("api",))
    ]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_the_source_tree():
    assert len(_sources("handlers")) >= 5 and len(_sources("models")) >= 5


# Modules of handlers/ that every feature may use; a feature never imports another feature.
SHARED_HANDLER_MODULES = {"handlers.base", "handlers.texts", "handlers.people", "handlers.week"}


def test_handlers_do_not_import_each_other():
    bad = [
        f"{p.relative_to(ROOT)}:{line} imports {mod}"
        for p in _sources("handlers")
        if _module_name(p) not in SHARED_HANDLER_MODULES and p.name != "__init__.py"
        for line, mod in _imports(p)
        if mod.startswith("handlers.") and mod not in SHARED_HANDLER_MODULES
    ]
    assert not bad, "\n".join(bad)


def test_every_intent_declares_its_roles_next_to_its_handler():
    """The role table lives with the handlers: the dispatcher has none of its own."""
    import bot.dispatch
    from handlers.base import HANDLERS

    assert not hasattr(bot.dispatch, "INTENT_ROLES")
    student_only = {"journal", "submit", "report", "checkin", "recategorize"}
    for intent in student_only:
        assert HANDLERS[intent].roles == ("student",), intent
    assert HANDLERS["today"].roles is not None and "student" not in HANDLERS["today"].roles
