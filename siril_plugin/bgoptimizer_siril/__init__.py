"""Siril layer of siril-bgoptimizer: reads the loaded image or sequence through sirilpy, runs the core, writes back.

Nothing here models or fits anything: that is the core package ``bgoptimizer``.
"""
