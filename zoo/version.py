"""imagezoo's version, in a module of its own so internals never import the package façade."""

__version__ = "0.1.0"
