"""Capture: each sandbox's packets, read through a kernel filter and parsed (no Django)."""
