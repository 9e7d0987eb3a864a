"""``python -m crisp_lint``: the same as the ``crisp-lint`` command."""

from crisp_lint.cli import main

if __name__ == "__main__":
    main()
