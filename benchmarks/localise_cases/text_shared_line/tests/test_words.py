from textkit.words import initials, normalise, same_text, slug, word_count, words


def test_normalise_case_and_punctuation() -> None:
    assert normalise("Hello, World!") == "hello world"


def test_words() -> None:
    assert words("a b c") == ["a", "b", "c"]


def test_slug() -> None:
    assert slug("Fault Localisation 101") == "fault-localisation-101"


def test_initials() -> None:
    assert initials("portable network graphics") == "PNG"


def test_same_text() -> None:
    assert same_text("Yes!", "yes")


def test_word_count() -> None:
    assert word_count("one, two, three") == 3


def test_slug_keeps_hyphens() -> None:
    assert slug("state-of-the-art tools") == "state-of-the-art-tools"


def test_normalise_collapses_spaces() -> None:
    assert normalise("too   many\tspaces") == "too many spaces"
