"""``python -m seisflow``: the command line."""

from seisflow.cli import main

if __name__ == "__main__":
    main()
