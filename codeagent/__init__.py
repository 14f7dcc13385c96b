"""codeagent: a terminal bug-fixing agent over the Responses API in WebSocket mode."""

__version__ = "0.1.0"
