"""`python -m bench` / `rlvr-bench`: train and evaluate one configuration."""

from bench.app import main

if __name__ == "__main__":
    main()
