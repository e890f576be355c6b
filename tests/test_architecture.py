"""Architecture rules (STYLE.md §3.7), checked on the source as text and syntax trees."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fupin"
# Layers from the bottom up (DESIGN.md); an app may point only at its own layer or below.
LAYERS = [
    "core",
    "divisions",
    "accounts",
    "registry",
    "policy",
    "assistance",
    "pairing",
    "exchange",
    "procedures",
]
INTERFACE_FILES = ("views.py", "api.py", "openrosa.py")
ORM_WRITES = {
    "save",
    "create",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}


def interface_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name in INTERFACE_FILES)


def orm_writes(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ORM_WRITES
        ):
            target = ast.unparse(node.func.value)
            # form.save() of a non-model form, dict.update() and the like are not ORM writes;
            # flag manager/queryset/model-instance writes by their usual shapes.
            if (
                ".objects" in target
                or target.endswith(("_set", "members", "records"))
                or node.func.attr == "save"
            ):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_orm_write_detector_finds_the_shapes_it_must():
    bad = ast.parse("Household.objects.create(x=1)\nh.save()\nh.members.update(a=1)")
    good = ast.parse("household_register(actor=a)\nvalues.update(x)")
    assert len(orm_writes(bad)) == 3
    assert orm_writes(good) == []


@pytest.mark.parametrize("path", interface_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_interfaces_do_not_write_through_the_orm(path):
    assert orm_writes(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", interface_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_interfaces_read_households_through_selectors_and_access(path):
    text = path.read_text(encoding="utf-8")
    for model in ("Household", "Member", "YearlyRecord", "AuditEvent"):
        assert f"{model}.objects" not in text, f"{path.name} reads {model} directly"


def test_no_fstring_sql():
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"execute", "executemany", "raw"}
        and node.args
        and isinstance(node.args[0], ast.JoinedStr)
    ]
    assert offenders == []


def test_migrations_do_not_import_app_code():
    for path in PACKAGE.glob("*/migrations/*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("fupin.")
            ):
                pytest.fail(f"{path.relative_to(ROOT)} imports {node.module}")


def test_model_references_respect_the_layers():
    for model in apps.get_models():
        if not model.__module__.startswith("fupin."):
            continue
        source = model._meta.app_label
        for field in model._meta.get_fields():
            if not field.is_relation or field.related_model is None or field.auto_created:
                continue
            if getattr(field, "swappable_setting", None) == "AUTH_USER_MODEL":
                continue  # the audit trail's actor: Django's swappable user, like admin's LogEntry
            target = field.related_model._meta.app_label
            if target in LAYERS and source in LAYERS:
                assert LAYERS.index(target) <= LAYERS.index(source), (
                    f"{model.__name__}.{field.name} points up from {source} to {target}"
                )


def test_import_layers_contract_holds():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
