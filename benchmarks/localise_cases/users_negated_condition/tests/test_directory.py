from members.directory import Directory, Member


def people() -> Directory:
    return Directory(
        [
            Member("Ann Lee", "Ann@example.org", tags=frozenset({"board"})),
            Member("Bo Chan", "bo@example.org", active=False),
            Member("Cy Ray", "cy@example.org", tags=frozenset({"board"})),
        ]
    )


def test_find() -> None:
    assert [m.name for m in people().find("chan")] == ["Bo Chan"]


def test_tagged() -> None:
    assert len(people().tagged("board")) == 2


def test_deactivate() -> None:
    d = people()
    d.deactivate("Ann Lee")
    assert not d.find("ann")[0].active


def test_mailing_list() -> None:
    assert people().mailing_list() == ["ann@example.org", "cy@example.org"]


def test_mailing_list_by_tag() -> None:
    assert people().mailing_list("board") == ["ann@example.org", "cy@example.org"]
