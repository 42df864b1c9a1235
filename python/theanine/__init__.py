"""theanine: a symbolic expression-graph compiler in the line of Theano."""
import os as _os

# Developers may point at a build tree's extension module (see README).
if _os.environ.get("THEANINE_CORE_PATH"):
    __path__.insert(0, _os.environ["THEANINE_CORE_PATH"])  # noqa: F821

from theanine import _core  # noqa: E402
