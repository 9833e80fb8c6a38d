"""The ``bgoptimizer`` command: its options from the settings' spec (:mod:`.arguments`), the run
(:mod:`.main`), the demo (:mod:`.demo`), signals (:mod:`.interrupts`) and the process's start and end
(:mod:`.entry`)."""
