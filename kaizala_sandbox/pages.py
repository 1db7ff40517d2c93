"""GET /_sandbox/: what each phone would see, for a person watching a demo.

Names, texts and numbers come from outside, so every value goes through html.escape.
"""

import datetime
import urllib.parse
from html import escape

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#f4f5f7;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:.2rem 0 .6rem}h3{font-size:.95rem;margin:.8rem 0 .3rem}
.phones{display:flex;flex-wrap:wrap;gap:1rem}.phone{background:#fff;border-radius:12px;padding:1rem;width:24rem;
box-shadow:0 1px 3px rgba(0,0,0,.15)}.pin{font-family:monospace;font-size:1.2rem;margin-right:.6rem}
.state{color:#777;font-size:.8rem}.msg{border-left:3px solid #4a7bd0;padding:.2rem .5rem;margin:.3rem 0}
.meta{color:#777;font-size:.75rem}table{border-collapse:collapse}td{padding:.1rem .6rem .1rem 0}
a{color:#2a5bb0}
"""


def _time(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _phones(store) -> list[str]:
    phones = set(store.pins) | set(store.users)
    for group in store.groups.values():
        phones |= set(group["members"]) | set(group["subscribers"])
    return sorted(phones)


def _phone_card(store, phone: str) -> str:
    parts = [f'<div class="phone"><h2><a href="?mobileNumber={escape(urllib.parse.quote(phone))}">'
             f"{escape(phone)}</a></h2>"]
    pins = store.pins.get(phone, [])
    parts.append("<h3>PINs received by SMS</h3>")
    if pins:
        parts.extend(f'<div><span class="pin">{escape(p["pin"])}</span><span class="state">{escape(p["state"])}, '
                     f"sent {escape(_time(p['sentAt']))}</span></div>" for p in pins[-5:])
    else:
        parts.append('<div class="state">none</div>')
    visible = [g for g in store.groups.values() if phone in g["members"] or phone in g["subscribers"]]
    parts.append("<h3>Groups</h3>")
    if not visible:
        parts.append('<div class="state">none</div>')
    for group in visible:
        role = group["members"].get(phone, "Subscriber")
        parts.append(f"<div><b>{escape(group['groupName'])}</b> <span class=\"state\">{escape(group['groupType'])}"
                     f", {escape(role)}</span></div>")
        feed = [m for m in store.messages if m["groupId"] == group["groupId"] and _sees(phone, group, m)]
        for message in feed[-20:]:
            parts.append(f'<div class="msg">{escape(message["text"])}<div class="meta">from '
                         f'{escape(message["sender"])} · {escape(_time(message["arrivedAt"]))} · '
                         f'{escape(message["via"])}</div></div>')
    parts.append("</div>")
    return "".join(parts)


def _sees(phone, group, message) -> bool:
    """Members see group posts; a subscriber sees only what was sent to subscribers (all or them)."""
    if phone in group["members"]:
        return True
    recipients = message["recipients"]
    return recipients == "allSubscribers" or (isinstance(recipients, list) and phone in recipients) or (
        message["sender"] == phone)


def render(store, focus: str | None = None) -> str:
    with store.lock:
        phones = [focus] if focus else _phones(store)
        cards = "".join(_phone_card(store, phone) for phone in phones) or "<p>No phones yet: request a PIN.</p>"
        connectors = "".join(
            f"<tr><td>{escape(c['name'])}</td><td><code>{escape(c['applicationId'])}</code></td>"
            f"<td>{escape(c['tenantId'])}</td></tr>" for c in store.connectors.values()
        )
        clock = _time(store.now())
    back = '<p><a href="/_sandbox/">all phones</a></p>' if focus else ""
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">"
        f"<title>Kaizala sandbox</title><style>{STYLE}</style></head><body>"
        f"<h1>Kaizala sandbox</h1><p class=\"meta\">Sandbox clock: {escape(clock)}</p>{back}"
        f'<div class="phones">{cards}</div><h3>Connectors</h3><table>{connectors}</table></body></html>'
    )
