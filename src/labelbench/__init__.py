"""labelbench: label structure decides output layer, loss and metrics."""
__version__ = "0.1.0"
