"""The one-time token a create form carries (kaizala_console/submit_once.py), read from its page as a
browser would submit it."""

import re

from kaizala_console.submit_once import FIELD


def form_token(client, url: str, page: str | None = None) -> dict:
    """`{FIELD: token}` of the create form on the page at `url` (or in the `page` already fetched), ready to
    merge into the POST data; empty when the person may not open the page (the POST is then refused before
    any token is read)."""
    if page is None:
        response = client.get(url)
        if response.status_code == 403:
            return {}
        page = response.content.decode()
    found = re.search(rf'name="{FIELD}" value="([^"]+)"', page)
    assert found, f"{url} has no one-time form token"
    return {FIELD: found.group(1)}
