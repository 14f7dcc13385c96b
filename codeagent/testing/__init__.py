"""Fakes that ship with the package, for tests here and in projects that build on codeagent."""
