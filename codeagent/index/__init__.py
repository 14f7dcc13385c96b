"""The codebase index: tree-sitter tags -> definition/reference graph -> ranked repo map.

``RepoIndex.open(root)`` is the entry point; see ``repo_index``.
"""
