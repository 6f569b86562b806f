"""Sphinx configuration: numpydoc API reference plus the Markdown user guide."""

project = "skimb"
author = "skimb developers"
copyright = "2026, skimb developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
autosummary_generate = True
numpydoc_show_class_members = False
autodoc_default_options = {}
myst_heading_anchors = 2
html_theme = "alabaster"
nitpicky = False
suppress_warnings = ["myst.header"]
