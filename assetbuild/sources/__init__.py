"""Observing sources: what a source's data is right now, without reading it (probes)."""
