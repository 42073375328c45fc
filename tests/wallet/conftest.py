import pytest

from tests.wallet.credentials import make_apple_files, make_google_files


@pytest.fixture(scope="session")
def wallet_files(tmp_path_factory):
    """One set of certificates and keys for the run (2048-bit keys take a moment to make)."""
    folder = tmp_path_factory.mktemp("wallet")
    return make_apple_files(folder), make_google_files(folder)


@pytest.fixture
def apple_wallet(settings, wallet_files):
    apple, _ = wallet_files
    for name, value in apple.settings().items():
        setattr(settings, name, value)
    return apple


@pytest.fixture
def google_wallet(settings, wallet_files):
    _, google = wallet_files
    for name, value in google.settings().items():
        setattr(settings, name, value)
    return google
