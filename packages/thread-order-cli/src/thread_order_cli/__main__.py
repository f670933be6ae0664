"""``python -m thread_order_cli``: the same as ``tdrun``."""

from thread_order_cli.app import main

if __name__ == "__main__":
    main()
