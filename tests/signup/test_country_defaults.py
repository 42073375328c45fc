"""A country's currency, time zone and language (CLDR data from babel)."""

import pytest

from tenants.signup import SignupError, country_choices, country_codes, country_defaults


@pytest.mark.parametrize(
    ("country", "hint", "expected"),
    [
        ("LT", "", ("EUR", "Europe/Vilnius", "lt")),
        ("lt", "", ("EUR", "Europe/Vilnius", "lt")),
        ("JP", "", ("JPY", "Asia/Tokyo", "ja")),
        ("GB", "", ("GBP", "Europe/London", "en")),
        ("US", "", ("USD", "America/New_York", "en")),
        ("US", "America/Chicago", ("USD", "America/Chicago", "en")),
        # A browser zone of another country is not taken.
        ("US", "Europe/Vilnius", ("USD", "America/New_York", "en")),
        ("LT", "Not/A_Zone", ("EUR", "Europe/Vilnius", "lt")),
    ],
)
def test_country_defaults(country, hint, expected):
    defaults = country_defaults(country, timezone_hint=hint)

    assert (defaults.currency, defaults.timezone, defaults.language) == expected


@pytest.mark.parametrize("country", ["XX", "", "001", "EU", "LTU"])
def test_an_unknown_country_is_refused(country):
    with pytest.raises(SignupError) as refused:
        country_defaults(country)
    assert refused.value.code == "country_invalid"


def test_every_country_of_the_list_has_defaults():
    codes = country_codes()

    assert 200 < len(codes) < 260
    for code in codes:
        defaults = country_defaults(code)
        assert len(defaults.currency) == 3 and defaults.timezone and defaults.language


def test_the_list_is_named_and_sorted_in_the_language_asked_for():
    english = dict(country_choices("en"))
    lithuanian = dict(country_choices("lt"))

    assert english["LT"] == "Lithuania"
    assert lithuanian["LT"] == "Lietuva"
    names = [name for _code, name in country_choices("en")]
    assert names == sorted(names, key=str.casefold)
    assert dict(country_choices("zz"))["LT"] == "Lithuania"
