from accounts.display import display_name, full_name, roster
from accounts.models import Profile, User


def test_full_name_titles() -> None:
    assert full_name(Profile(" ada", "lovelace ")) == "Ada Lovelace"


def test_display_name() -> None:
    assert display_name(User("ada", Profile("ada", "lovelace"))) == "Ada Lovelace"


def test_admin_marked() -> None:
    user = User("root", Profile("grace", "hopper"), admin=True)
    assert display_name(user) == "Grace Hopper (admin)"


def test_roster_sorted() -> None:
    users = [User("b", Profile("bob", "b")), User("a", Profile("al", "a"))]
    assert roster(users) == ["Al A", "Bob B"]


def test_no_profile_shows_login() -> None:
    assert display_name(User("guest")) == "guest"
