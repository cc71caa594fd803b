"""`python -m bench` / `rlvr-bench`: train and evaluate one configuration."""

import sys

from bench import app
from bench.plugins import import_plugins, plugins_from_argv
from bench.preflight import ConfigError


def main() -> None:
    """Plugins first (a plugin's config schema must exist when Hydra composes), then the run."""
    try:
        import_plugins(plugins_from_argv(sys.argv[1:]))
    except ConfigError as error:
        sys.exit(f"error: {error}")
    app.main()


if __name__ == "__main__":
    main()
