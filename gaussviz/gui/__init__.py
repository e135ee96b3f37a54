"""The Qt window of gaussviz: plots, controls, worker (the core never imports this)."""

from . import pgshim as _pgshim

# before PySide6's modules load: its check of every later import reads the file's bytes
_pgshim.quick_feature_check()
# before any module of the window imports pyqtgraph: its Qt names are then looked up on first use
_pgshim.install()
