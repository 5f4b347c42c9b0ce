"""``python -m mixbench`` runs the CLI."""

from mixbench.cli import main

if __name__ == "__main__":
    main()
