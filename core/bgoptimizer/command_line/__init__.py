"""The ``bgoptimizer`` command: the run (:mod:`.main`, :mod:`.runner`), the demo (:mod:`.demo`) and the console
script (:mod:`.entry`); its options come from :mod:`..arguments`, its signals from :mod:`..interrupts`, its
process's end from :mod:`..process`, which Siril's batch scripts share."""
