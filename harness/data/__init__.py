"""Data files shipped with the package (samples, defaults)."""
