"""Steps 1-4: the linear image validated, stretched, downscaled and masked into what the fit sees; the
coordinates of the full-resolution, downscaled and spline grids."""
