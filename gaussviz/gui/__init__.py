"""The Qt window of gaussviz: plots, controls, worker (the core never imports this)."""
