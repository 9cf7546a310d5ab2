"""Figures (matplotlib + seaborn; no deep-learning framework is imported here)."""
