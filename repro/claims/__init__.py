"""The paper's claims as executable checks, one registered function each (see :mod:`repro.claims.core`).

Importing this package registers every claim; :func:`evaluate` runs them on a
:class:`repro.results.Results`, the paper's own tables or one of our runs.
"""

# Imported in the order of the paper's sections (3.3.1, 3.3.2, 3.4, 3.5, 4): the report lists claims in this order.
from repro.claims import table1, colour, noise, cross, nmi, order  # noqa: F401,I001  (registers the claims)
from repro.claims.core import CLAIMS, VERDICTS, Claim, Inconclusive, NotMeasured, Outcome, Verdict, evaluate

__all__ = ["CLAIMS", "VERDICTS", "Claim", "Inconclusive", "NotMeasured", "Outcome", "Verdict", "evaluate"]
