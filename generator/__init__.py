"""derivbook: printable, verified workbooks for the mathematics behind machine learning and LLMs.

Installed as one import package: this folder (``generator/`` in the repository) is ``derivbook``;
``derivations/``, ``templates/`` and ``workbooks/`` install beneath it. Authors of derivations import
from :mod:`derivbook.authoring`.
"""

__version__ = "0.2.0"
