"""openpick: choose, measure and use open language models.

The public API is re-exported here; heavy dependencies (llama_cpp, torch, transformers)
are imported only inside the engines that need them.
"""

from openpick.errors import OpenpickError

__version__ = "0.1.0"
__all__ = ["OpenpickError", "__version__"]
