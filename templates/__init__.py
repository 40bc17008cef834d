"""The Jinja2 LaTeX templates (``*.tex.j2``): a base layout, the worksheet, the answer key, block partials.

A Python package only so that ``pip install .`` ships the templates with the code.
"""
