"""The test harness: the scripts that run inside the project's interpreter, and what they get.

Three scripts in ``probe/`` run there: the pytest plugin that reports each run
(``codeagent_probe``), the fork server (``codeagent_forkserver``) and the reaper that runs a
module and kills what it leaves (``codeagent_reaper``). The project being fixed is untrusted,
and so is what the model writes into it, so the harness must not be something the project can
replace: each script is started by its path (its folder, not the project's, is first on
``sys.path``), with no ``PYTHONPATH`` (a ``sitecustomize.py`` or a ``pytest.py`` in the project
would otherwise be found first), and the project's folders are put on ``sys.path`` only after
pytest and the probe are imported (``CODEAGENT_PYTHONPATH``, read by
``codeagent_reaper.enter_project``).

The environment is minimal: a few essentials of ours, nothing else (no API keys, no
``PYTHONPATH`` of the user's).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

PROBE_DIR = Path(__file__).resolve().parent / "probe"
RUN_PATH_ENV = "CODEAGENT_PYTHONPATH"
"""The project's folders, for ``codeagent_reaper.enter_project`` (the same name there)."""
PASSED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "COMSPEC",
    "PATHEXT",
    "WINDIR",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
)
"""What a test process may need from ours; nothing else (no API keys, no PYTHONPATH)."""


def harness_script(name: Literal["forkserver", "reaper"]) -> str:
    """The path of a harness script, to run as ``python PATH``."""
    return str(PROBE_DIR / f"codeagent_{name}.py")


def harness_argv(python: str, module: str, args: Sequence[str]) -> list[str]:
    """``python -m MODULE ARGS`` through the reaper, isolated from the project's path."""
    return [python, harness_script("reaper"), "-m", module, *args]


def run_environment(root: Path) -> dict[str, str]:
    """The environment of a test run in ``root``: a few essentials of ours, and the work copy
    (and its ``src/``) as the project's folders, which the tests see first on ``sys.path`` and
    on ``PYTHONPATH`` (so the copy wins over an editable install of the user's tree)."""
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    paths = [str(root)]
    if (root / "src").is_dir():
        paths.append(str(root / "src"))
    env.update(
        {RUN_PATH_ENV: os.pathsep.join(paths)},
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTHONIOENCODING="utf-8",
        COLUMNS="120",
    )
    return env
