"""The ``imgedit`` command line: one module per command group, registered in ``cli.main``."""
