"""Code that runs inside a lesson's kernel, not in workshopkit.

A kernel may run another Python, in another environment, where workshopkit is not installed: the
modules here use only the standard library and IPython, and reach the kernel as source (the engine
reads a module with `importlib.resources` and writes it beside the kernel's start-up file), never
by import. They are ordinary modules otherwise: linted, type-checked, and unit-tested by importing
them (`tests/test_kernel_output_cap.py`).
"""
