"""axe-core (tests/browser/vendor/axe-core, from npm) run inside a page: the WCAG 2.1 A and AA
rules. The page's context must bypass the Content-Security-Policy, which would refuse the
injected script (the policy has tests of its own)."""

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[str]:
    """One line per violated rule: its id, impact and the first offending element. Measured on
    the loaded page with transitions and animations stopped: axe reading a colour half-way
    through a fade reported a contrast the page never settles on (seen once on the console)."""
    page.wait_for_load_state("load")
    page.add_style_tag(
        content="*, *::before, *::after { transition: none !important; animation: none !important; }"
    )
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['nodes'][0]['target']} "
        f"{violation['nodes'][0]['failureSummary']}"
        for violation in result["violations"]
    ]


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
