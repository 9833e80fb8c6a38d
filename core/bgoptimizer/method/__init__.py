"""The method, step by step, on arrays: stretch, downscale and mask (:mod:`.preparation`), large objects
(:mod:`.objects`), the spline fit (:mod:`.fit`), reconstruction and correction (:mod:`.pipeline`); a raw CFA
frame phase by phase (:mod:`.cfa`). Nothing here reads a file or knows a front end."""
