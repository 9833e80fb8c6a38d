"""Frames and files processed end to end: one frame's recipe (:mod:`.frame`) and the jobs of a command-line
run, checked before anything is written (:mod:`.jobs`)."""
