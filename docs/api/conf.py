"""Sphinx configuration of the jmere_pyg API reference (built from the
docstrings; ``tests/test_docs.py`` builds it with warnings as errors)."""
import importlib
import sys
from pathlib import Path

from sphinx.util.nodes import make_refnode

# Document this checkout's package, whatever is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

project = "jmere_pyg"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
exclude_patterns = ["_build"]

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the Args sections give the types
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = ["Shapes"]
# Attributes as fields of their class: NamedTuple and dataclass fields are
# documented once.
napoleon_use_ivar = True
html_theme = "alabaster"

# A reference to a name of this package must resolve; references to other
# libraries (torch, PyG, POT, ...) stay plain text.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!jmere_pyg\b).*")]

PACKAGE = "jmere_pyg"


def defined_name(dotted: str) -> str:
    """Where the object that ``dotted`` names is defined (its module and
    qualified name), e.g. ``jmere_pyg.graphs.GraphBuilder`` ->
    ``jmere_pyg.graphs.builder.GraphBuilder``; ``dotted`` itself when that
    cannot be told."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return dotted
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        return f"{module}.{qualname}" if module and qualname else dotted
    return dotted


def resolve_package_reference(app, env, node, contnode):
    """Links a reference that Sphinx could not resolve to where the object
    is documented (each module documents what it defines): a public name
    (``jmere_pyg.EEGA``, ``jmere_pyg.graphs.GraphBuilder``) through the
    object's own module, a short name (``GraphBuilder``,
    ``EEGA.from_pretrained``) when one documented object ends with it."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    objects = env.get_domain("py").objects
    if target.startswith(PACKAGE + "."):
        names = [defined_name(target)]
    else:
        names = [name for name in objects
                 if name.startswith(PACKAGE + ".")
                 and name.endswith("." + target)]
    if len(names) != 1 or names[0] not in objects:
        return None
    entry = objects[names[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname,
                        entry.node_id, contnode, names[0])


def setup(app):
    app.connect("missing-reference", resolve_package_reference)
