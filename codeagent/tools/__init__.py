"""Tools the agent works with: the work copy, the test runner and its reports, patches, git.

Pure cores (patch application, test report parsing) beside thin effect shells (processes, the
filesystem, git). Only this layer imports ``git`` and ``unidiff``.
"""
