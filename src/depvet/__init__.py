"""depvet: static supply-chain defence for Python packages."""

__version__ = "0.1.0"
__all__ = ["__version__"]
