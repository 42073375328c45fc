import pytest

from tests.programs.lot_helpers import configure


@pytest.fixture
def lifetime(in_organization, programs):
    """The point program with a one-month lifetime per earn."""
    return configure(programs["point"], points_expiry="lifetime", points_expiry_months=1)
