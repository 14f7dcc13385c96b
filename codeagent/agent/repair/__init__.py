"""Program-repair mutation operators: the candidate fixes at suspicious lines.

``candidates(path, source, suspects, hint=..., limit=...)`` runs every operator of ``catalog``
at every suspect line of one file and returns checked, deduplicated, ranked ``Candidate``s; the
agent validates them in that order by running the tests.

The operators are the "simple stupid bug" patterns of real one-line fixes:

- ManySStuBs4J (Karampatsis & Sutton, MSR 2020): 16 single-statement bug patterns mined from
  Java projects (change identifier/numeric literal/operator/unary operator/caller, wrong
  function name, swapped arguments, more/less specific if, swapped boolean literal, …).
- PySStuBs (Kamienski et al., MSR 2021) and TSSB-3M (Richter & Wehrheim, MSR 2022): the same
  patterns in Python, the latter with counts over 3M fixes; ``catalog`` takes its priors from
  them.
- Defects4J dissection (Sobreira et al., SANER 2018) and NPEfix (Durieux et al., SANER 2017):
  the missing null check and its repair strategies (``guards``).
- PyTER (Oh & Oh, FSE 2022): Python ``TypeError`` repairs by guards and casts
  (``guards``, ``conversions``).
- BugsInPy (Widyasari et al., FSE 2020): real Python bugs; its one-line fixes are the curated
  benchmark in ``tests/test_repair_operators.py``.
- Fix templates of GenProg/SPR/Prophet/TBar: condition refinement, ``return``/``continue``
  guards, and Prophet's ranking of edits by probability (a prior split among alternatives).

Edits are exact splices of the source text (``edits``): only the tokens concerned change, every
other byte stays, and each candidate parses and differs from the original as a tree.
"""

from codeagent.agent.repair.engine import candidates
from codeagent.agent.repair.hint import Hint

__all__ = ["Hint", "candidates"]
