"""The model layer: ChatML rendering, tool-call parsing, llama.cpp contexts and their pool."""
