"""Run Aider's repo map once over every Python file under ROOT, as the index benchmark's peer.

Run with a Python that has ``aider-chat`` installed (a scratch venv, never codeagent's own):
    python benchmarks/aider_repomap.py ROOT [TOKENS]
Prints the map's size on stderr; the map itself on stdout. Aider keeps its tag cache in
``ROOT/.aider.tags.cache.v*``: delete it for a cold run.
"""

import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network lookups

from aider.io import InputOutput  # noqa: E402
from aider.models import Model  # noqa: E402
from aider.repomap import RepoMap  # noqa: E402


def main() -> None:
    root = os.path.abspath(sys.argv[1])
    tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".py")]
    io = InputOutput(pretty=False, yes=True)
    repo_map = RepoMap(map_tokens=tokens, root=root, main_model=Model("gpt-4o-mini"), io=io)
    text = repo_map.get_repo_map(chat_files=[], other_files=files) or ""
    print(f"aider: {len(files)} files, map of {len(text)} chars", file=sys.stderr)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
