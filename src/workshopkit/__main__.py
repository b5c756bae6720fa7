"""`python -m workshopkit`."""

from workshopkit.cli import main

if __name__ == "__main__":
    main()
