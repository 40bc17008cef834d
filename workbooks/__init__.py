"""Ready-made workbook specs (``*.toml``); ``llm-foundations.toml`` is the default.

A Python package only so that ``pip install .`` ships the specs with the code.
"""
