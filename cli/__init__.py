"""The ``tsrnn`` command line (installed as the import package ``tsrnn_cli``).

A thin shell over the library: each command parses its options, calls the library and writes
the result. Importing this package imports neither torch nor pandas; commands import the
library inside their bodies, so ``tsrnn --help`` stays fast.
"""
