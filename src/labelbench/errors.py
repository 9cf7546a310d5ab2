"""Errors that users see: each names the file, key or value at fault and what was expected."""


class LabelbenchError(Exception):
    """Base class for every error raised on purpose by labelbench."""


class DataError(LabelbenchError):
    """A dataset file, archive or annotation is missing, corrupt or malformed."""


class ChecksumError(DataError):
    """A file's checksum is not the one expected."""

    def __init__(self, path, expected: str, actual: str, algorithm: str = "md5"):
        self.path, self.expected, self.actual = str(path), expected, actual
        super().__init__(f"{algorithm} checksum mismatch for {path}: expected {expected}, got {actual}")


class ConfigError(LabelbenchError):
    """A configuration value is inconsistent in a way the schema cannot express."""


class TrainingDiverged(LabelbenchError):
    """The training loss became NaN or infinite."""


class RankError(LabelbenchError, ValueError):
    """A loss received rank-1 targets or predictions where it needs (batch, k)."""


class DeviceError(LabelbenchError):
    """A job was sent to a GPU that its framework cannot see."""
