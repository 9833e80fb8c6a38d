"""The method on arrays, its steps as folders in the order the data flows, each importing only from the
folders before it (tests/test_layers.py):

- :mod:`.common`: torch views, the device, heap trimming;
- :mod:`.prepare` (steps 1-4): validate, stretch, downscale and mask (:mod:`.prepare.preparation`), and the
  coordinates of every grid (:mod:`.prepare.grid`);
- :mod:`.model` (step 6): the polyharmonic spline, its background samples, the robust start, the losses, the
  optimizer and the less stiff refit along the edge;
- :mod:`.objects` (step 5): large faint objects found and grown (:mod:`.objects.detection`), their light as
  profiles, their outlines;
- :mod:`.output` (steps 7-8): the model at full resolution and the correction;

and, at the top, what runs the steps: :mod:`.fit` (objects, then the spline), :mod:`.pipeline` (all of them),
:mod:`.cfa` (a raw frame phase by phase), :mod:`.normalize` (a frame to a reference), :mod:`.preview` and
:mod:`.display` (what the panel shows). Nothing here reads a file or knows a front end."""
