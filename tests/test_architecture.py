"""The package's layers only point down: every import inside jmere_pyg goes
from a unit (subpackage or top-level module) to a unit below it, in the order
written once in ``docs/architecture.md``. So no two units import each other,
directly or through others."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "jmere_pyg"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def layer_order():
    """Units listed between the ``<!-- layers -->`` markers, lowest first:
    the first word of each line that starts at the margin (indented lines
    continue a description)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    _, block, _ = text.split("<!-- layers -->")
    return [line.split()[0].rstrip("/").removesuffix(".py")
            for line in block.splitlines()
            if line[:1].isalpha()]


def all_units():
    return sorted({path.name.removesuffix(".py") for path in PACKAGE.iterdir()
                   if (path.is_dir() and (path / "__init__.py").exists())
                   or (path.suffix == ".py" and path.name != "__init__.py")})


def imported_units(path: Path, package_root: Path = PACKAGE):
    """(line, unit) of every jmere_pyg unit that module ``path`` of the
    package at ``package_root`` imports."""
    parts = list(path.relative_to(package_root).with_suffix("").parts)
    package = parts[:-1]  # the module's own package, inside jmere_pyg
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)]
            names = ([node.module] if node.module
                     else [alias.name for alias in node.names])
            targets = [base + name.split(".") for name in names]
        elif isinstance(node, ast.ImportFrom) and node.module and (
                node.module.split(".")[0] == "jmere_pyg"):
            targets = [node.module.split(".")[1:]]
        elif isinstance(node, ast.Import):
            targets = [alias.name.split(".")[1:] for alias in node.names
                       if alias.name.split(".")[0] == "jmere_pyg"]
        for target in targets:
            if target:
                yield node.lineno, target[0]


def test_the_layer_list_names_every_unit_once():
    order = layer_order()
    assert len(order) == len(set(order)), order
    assert sorted(order) == all_units()


def test_layers_only_import_lower_layers():
    rank = {unit: i for i, unit in enumerate(layer_order())}
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts == ("__init__.py",):
            continue  # the package's front door re-exports every layer
        unit = relative.parts[0].removesuffix(".py")
        for line, target in imported_units(path):
            if target != unit and rank[target] > rank[unit]:
                wrong.append(f"jmere_pyg/{relative}:{line}: {unit} imports "
                             f"{target}, a higher layer")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_upward_import(tmp_path):
    """The check itself can fail: an upward import is seen."""
    module = PACKAGE / "data" / "sample.py"
    source = module.read_text(encoding="utf-8")
    fake = tmp_path / "jmere_pyg" / "data" / "sample.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source + "\nfrom ..models import EEGA\n")
    targets = [unit for _, unit in imported_units(fake, tmp_path / "jmere_pyg")]
    assert "models" in targets
    rank = {unit: i for i, unit in enumerate(layer_order())}
    assert rank["models"] > rank["data"]
