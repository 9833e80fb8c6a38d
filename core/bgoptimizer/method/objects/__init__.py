"""Step 5: large faint objects found as coherent excess and grown by their wings, their light as profiles
fitted beside the sky, their outlines for a front end."""
