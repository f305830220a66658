"""JupyterLab's configuration for `make lab` (and the browser test, which starts it the same way).

`make lab` passes this file with --config. It culls idle kernels and loads custom/custom.css,
which turns widgets whose kernel has gone into one plain line each.
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file

# Every notebook opened starts a kernel (about 150 MB each), and a tab left open keeps it
# connected: shut down kernels that have run nothing for 30 minutes, open tab or not. The local
# cloud keeps its state, so a culled notebook runs again from its first cell.
c.MappingKernelManager.cull_idle_timeout = 30 * 60
c.MappingKernelManager.cull_interval = 60
c.MappingKernelManager.cull_connected = True
c.MappingKernelManager.cull_busy = False

# custom/custom.css, from this folder rather than ~/.jupyter/custom.
c.LabApp.custom_css = True
c.ServerApp.tornado_settings = {"static_custom_path": [str(Path(__file__).parent / "custom")]}
