"""The operations layer: imgedit's distributed topology on one machine, without containers.

- ``servers``: real PostgreSQL, Redis and S3 (SeaweedFS) servers on free loopback ports;
- ``processes``: API nodes (``imgedit serve``) and workers (``imgedit worker``), each with its log,
  waited for until ready, stopped by pid;
- ``topology``: ``Cluster``, all of them together, used by ``make cluster`` (``python -m cluster``),
  the scenario tests (tests/test_cluster.py) and the scale-out benchmark (bench/scaleout.py).

It sits above every other layer and imports none of them but ``imgedit`` (settings) and, to copy a
migrated database for the tests, ``sessions`` and ``agent``; it drives the service through its
commands and its HTTP API, as an operator does.
"""
