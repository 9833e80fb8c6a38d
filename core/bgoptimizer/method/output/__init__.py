"""Steps 7-8: the model at full resolution with the stretch undone, and the correction."""
