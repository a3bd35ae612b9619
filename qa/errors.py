"""The one exception family the library raises on purpose."""


class QAError(Exception):
    """A problem the user can fix; the message says how."""


class CorpusError(QAError):
    """A corpus file could not be read or parsed."""


class IndexNotReadyError(QAError):
    """The index is missing, corrupt, or was built for something else."""


class ModelError(QAError):
    """The embedding model could not be loaded."""


class StoreUnavailableError(QAError):
    """The index's server cannot be reached right now; it may come back.

    A running app turns this into "the index can't be reached right now"
    for the question at hand, instead of failing.
    """
