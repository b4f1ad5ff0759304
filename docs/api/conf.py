"""Sphinx configuration of the jmere_pyg API reference (built from the
docstrings; ``tests/test_docs.py`` builds it with warnings as errors)."""
import sys
from pathlib import Path

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
