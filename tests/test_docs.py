"""The API reference (``docs/api``, Sphinx autodoc + napoleon) builds from
the docstrings without a warning, and covers every module."""
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API_DOCS = ROOT / "docs" / "api"
PACKAGE = ROOT / "jmere_pyg"

sphinx_build = pytest.importorskip("sphinx.cmd.build")
# Sphinx 9's napoleon warns about its own use of autodoc's options.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The mapping interface for autodoc options")


def build(source: Path, out: Path) -> int:
    """Sphinx's exit status: warnings are errors, all of them reported.
    The ``dummy`` builder reads every docstring as ``html`` does, without
    writing pages."""
    return sphinx_build.build_main(
        ["-b", "dummy", "-W", "--keep-going", "-q", "-d", str(out / "doctrees"),
         str(source), str(out / "dummy")])


def test_api_reference_builds_without_warnings(tmp_path):
    assert build(API_DOCS, tmp_path) == 0


def test_every_module_has_a_page():
    documented = {line.split("::")[1].strip()
                  for page in API_DOCS.glob("*.rst")
                  for line in page.read_text(encoding="utf-8").splitlines()
                  if line.startswith(".. automodule::")}
    modules = {".".join(("jmere_pyg",) + path.relative_to(PACKAGE)
                        .with_suffix("").parts)
               for path in PACKAGE.rglob("*.py")}
    modules = {name.removesuffix(".__init__") for name in modules}
    modules.discard("jmere_pyg")  # the front door re-exports the layers
    assert sorted(modules - documented) == []


@pytest.mark.parametrize("text, status", [
    ("``a literal``", 0),
    ("``an unclosed literal", 1),
    (":class:`torch.Tensor` (other libraries stay plain text)", 0),
    (":class:`jmere_pyg.graphs.Vocabulary`", 0),
    (":class:`jmere_pyg.NoSuchClass`", 1),
])
def test_a_broken_docstring_fails_the_build(tmp_path, monkeypatch, text,
                                            status):
    module = "docstring_module"
    (tmp_path / f"{module}.py").write_text(
        f'"""A module."""\n\n\ndef f(x):\n'
        f'    """Returns {text}.\n\n'
        f'    Args:\n        x: a value.\n    """\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(API_DOCS / "conf.py", source / "conf.py")
    # A page of the package too: public names resolve to where their
    # objects are documented.
    (source / "index.rst").write_text(
        f"Module\n======\n\n.. automodule:: {module}\n   :members:\n\n"
        ".. automodule:: jmere_pyg.graphs.vocab\n   :members:\n")
    assert build(source, tmp_path) == status
