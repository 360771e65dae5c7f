"""Interactive explorers for the lessons, built on ipywidgets."""
