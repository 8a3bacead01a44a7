"""`python -m server` is the same as the `sistercities` command."""

from server.cli import main

main()
