"""Exporters: learner notebooks, slides, bundles and the index page."""
