"""Pictures of the engine's work: Graphviz renders of computation graphs and matplotlib
plots. Installed as ``tinygrad_seq.viz``; graphviz and matplotlib are imported only when a
function here is called.
"""

from . import plots as plots  # matplotlib is imported inside its functions
from .graph_render import render_graph as render_graph
from .graph_render import renderer_for as renderer_for

__all__ = ["plots", "render_graph", "renderer_for"]
