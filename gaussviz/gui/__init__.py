"""The Qt window of gaussviz: plots, controls, worker (the core never imports this)."""

from .pgimport import install as _install_pgimport

_install_pgimport()  # before any module here imports pyqtgraph: see gui/pgimport.py
