"""Step 6: the polyharmonic spline, the background samples it is fitted to, its robust start, the losses,
the optimizer and the less stiff refit that follows a glow along the edge."""
