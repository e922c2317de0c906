"""One exception type per kind of bad input."""


class ConfigError(ValueError):
    """The workflow configuration is inconsistent; the message names the key."""


class DataError(ValueError):
    """An input file does not hold what was expected; the message names the file."""
