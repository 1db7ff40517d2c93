"""In the browser: script and HTML in group names, member names, message texts and Kaizala error messages
are shown as text (no dialog opens, no element is injected), and no page of the console breaks its
Content-Security-Policy (no `securitypolicyviolation` event, no CSP console error)."""

import pytest

from accounts.roles import Role
from tests.fixtures.users import browser_login
from tests.security.test_access_matrix import CONSOLE, MATRIX
from tests.security.world import concrete, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL = {
    "group_name": '<img src=x onerror=alert("group")>',
    "member_name": '<script>alert("member")</script>',
    "message_text": '"><svg onload=alert("text")>',
    "kaizala_error": '<iframe src="javascript:alert(\'kaizala\')"></iframe><b id="injected">bold</b>',
    "connector_name": "<script>alert('connector')</script>",
}
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));
"""


def test_hostile_text_is_escaped_and_no_page_breaks_the_csp(live_server, page, screenshot, make_user):
    make_user("escaper", Role.ADMIN)
    world = make_world(**EVIL, message_status="unconfirmed")
    dialogs, csp_errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m.text))
    page.add_init_script(WATCH)
    browser_login(page, live_server.url, "escaper")  # password, then the code
    page.wait_for_url(f"{live_server.url}/")

    visited = []
    for name, route in CONSOLE:
        if MATRIX[name]["GET"][3] != 200 or name in ("logout", "audit:export"):  # the export is a download
            continue
        if route.endswith(".csv"):  # a download, not a page (its cells are made safe: tests/lists/test_exports.py)
            continue
        if name == "messaging:media":  # a stored file as uploaded, not a page (the browser's own viewer shows it)
            continue
        url = concrete(name, route, world)
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("load")
        violations = page.evaluate("window.__violations")
        assert not violations, f"{url}: CSP violations {violations}"
        assert page.locator("#injected").count() == 0, f"{url}: the Kaizala error's HTML was rendered"
        visited.append(url)
    assert len(visited) >= 20

    # The hostile strings are on the pages as text.
    page.goto(f"{live_server.url}/groups/{world['group'].pk}/")
    body = page.locator("body").inner_text()
    assert EVIL["group_name"] in body and EVIL["member_name"] in body
    screenshot(page, "security-escaped-group")
    page.goto(f"{live_server.url}/messages/{world['message'].pk}/")
    body = page.locator("body").inner_text()
    assert EVIL["message_text"] in body and "<b id=\"injected\">bold</b>" in body
    page.goto(f"{live_server.url}/connectors/")
    assert EVIL["connector_name"] in page.locator("body").inner_text()
    page.wait_for_timeout(300)
    assert not dialogs, f"a script ran: {dialogs}"
    assert not csp_errors, csp_errors


def test_the_csp_blocks_an_injected_inline_script(live_server, page, make_user):
    """The header is really enforced: a script added to a console page inline is refused and reported."""
    make_user("csp-check", Role.VIEWER)
    page.add_init_script(WATCH)
    page.goto(f"{live_server.url}/login/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in page.evaluate("window.__violations"))
