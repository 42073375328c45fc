"""The organization's root page is the program's public page, not a staff menu."""

from django_tenants.utils import tenant_context

from loyalty_platform.rewards.models import Reward


def test_the_root_page_shows_the_program_join_and_sign_in(organization, programs, client_a):
    with tenant_context(organization):
        for index in range(8):
            Reward.objects.create(name=f"Reward {index}", required_credits=10 * (index + 1))
        Reward.objects.create(name="Hidden", required_credits=5, is_active=False)

    page = client_a.get("/").content.decode()

    assert "<h1>Test Org A</h1>" in page
    assert f"<h3>{programs['point'].name}</h3>" in page and f"<h3>{programs['stamp'].name}</h3>" in page
    assert page.count('href="/me/signup"') == 2 and page.count('href="/me/login"') == 2
    assert [f"Reward {index}" in page for index in range(8)] == [True] * 6 + [False] * 2
    assert "Hidden" not in page and "…and 2 more rewards for members." in page
    assert "POS API documentation" not in page and "/api/docs/" not in page
    assert page.index('href="/admin/"') > page.index("</main>")  # the staff link comes last, small
    assert '<link rel="icon" href="/static/img/favicon.svg"' in page
