"""Helpers every step uses: torch views of arrays, the device a fit runs on, heap trimming."""
