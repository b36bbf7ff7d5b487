"""`python -m openpick` runs the CLI."""

from openpick.cli.main import main

main()
