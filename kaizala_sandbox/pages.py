"""GET /_sandbox/: what each phone would see, for a person watching a demo.

One phone's page (?mobileNumber=…) also lets a person act as that phone: write into a group (text, or an
image by URL), answer a post (threaded), join a group. Its forms post JSON to the control API with fetch.
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
a{color:#2a5bb0}.reply{margin-left:1.2rem;border-left-color:#9ab}form.write{margin:.4rem 0}
form.write input[type=text]{width:14rem}
"""

# Posts each phone form as JSON (the control API takes state changes as JSON only), then reloads.
# Reloads every 2 s too, unless a field holds text, so posts from the console show up.
SCRIPT = """
document.querySelectorAll('form[data-post]').forEach(function (form) {
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var body = {};
    new FormData(form).forEach(function (value, key) { if (value !== '') body[key] = value; });
    fetch(form.dataset.post, {method: 'POST', headers: {'Content-Type': 'application/json'},
                              body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (res) { if (res[0]) { location.reload(); } else { alert(res[1].message || 'Refused'); } });
  });
});
setInterval(function () {
  var busy = Array.prototype.some.call(document.querySelectorAll('input[type=text]'),
                                       function (i) { return i.value !== '' || i === document.activeElement; });
  if (!busy) location.reload();
}, 2000);
"""


def _time(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _phones(store) -> list[str]:
    phones = set(store.pins) | set(store.users)
    for group in store.groups.values():
        phones |= set(group["members"]) | set(group["subscribers"])
    return sorted(phones)


def _phone_card(store, phone: str, writable: bool = False) -> str:
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
        parts.extend(_thread(feed[-20:]))
        if writable:
            parts.extend(_answer_form(group, phone, m) for m in feed[-20:] if m.get("actionId"))
            parts.append(_write_form(group, phone, feed[-20:]))
    if writable:
        parts.extend(_join_form(group, phone) for group in store.groups.values()
                     if phone not in group["members"] and phone not in group["subscribers"])
    parts.append("</div>")
    return "".join(parts)


def _message(message, css="msg") -> str:
    media = "".join(f' <a href="{escape(m["mediaUrl"])}">{escape(m["mediaFileName"])}</a>'
                    for m in message.get("media") or [] if m["mediaUrl"].startswith(("http://", "https://")))
    return (f'<div class="{css}" data-ref="{escape(message["referenceId"])}">{escape(message["text"])}{media}'
            f'<div class="meta">from {escape(message["sender"])} · {escape(_time(message["arrivedAt"]))} · '
            f'{escape(message["via"])}</div></div>')


def _thread(feed) -> list[str]:
    """Each post with its replies under it (a reply whose post is not shown stands on its own)."""
    shown = {m["referenceId"] for m in feed}
    replies: dict[str, list] = {}
    for message in feed:
        if message.get("replyToReferenceId") in shown:
            replies.setdefault(message["replyToReferenceId"], []).append(message)
    parts = []
    for message in feed:
        if message.get("replyToReferenceId") in shown:
            continue
        parts.append(_message(message))
        parts.extend(_message(reply, "msg reply") for reply in replies.get(message["referenceId"], []))
    return parts


def _write_form(group, phone, feed) -> str:
    target = escape(f"/_sandbox/groups/{urllib.parse.quote(group['groupId'], safe='@')}/inbound")
    # Named by sender and time, not by text: the feed above shows the text once (and tests find it once).
    options = "".join(f'<option value="{escape(m["referenceId"])}">the post from {escape(m["sender"])} at '
                      f'{escape(_time(m["arrivedAt"])[11:19])}</option>' for m in feed)
    return (f'<form class="write" data-post="{target}"><input type="hidden" name="from" value="{escape(phone)}">'
            f'<input type="text" name="text" placeholder="Write as {escape(phone)}" aria-label="Text">'
            f'<input type="text" name="imageUrl" placeholder="Image URL (optional)" aria-label="Image URL">'
            f'<select name="replyToReferenceId" aria-label="Reply to"><option value="">not a reply</option>'
            f'{options}</select> <button type="submit">Send</button></form>')


def _answer_form(group, phone, message) -> str:
    gid = urllib.parse.quote(group["groupId"], safe="@")
    target = escape(f"/_sandbox/groups/{gid}/actions/{urllib.parse.quote(message['actionId'], safe='')}/answer")
    return (f'<form class="write" data-post="{target}"><input type="hidden" name="from" value="{escape(phone)}">'
            f'<input type="text" name="answer" placeholder="Answer the {escape(message["kind"])} from '
            f'{escape(message["sender"])}" aria-label="Answer"> <button type="submit">Answer</button></form>')


def _join_form(group, phone) -> str:
    target = escape(f"/_sandbox/groups/{urllib.parse.quote(group['groupId'], safe='@')}/join")
    return (f'<form class="write" data-post="{target}"><input type="hidden" name="mobileNumber" '
            f'value="{escape(phone)}"><button type="submit">Join “{escape(group["groupName"])}”</button></form>')


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
        cards = "".join(_phone_card(store, phone, writable=bool(focus)) for phone in phones) or (
            "<p>No phones yet: request a PIN.</p>")
        connectors = "".join(
            f"<tr><td>{escape(c['name'])}</td><td><code>{escape(c['applicationId'])}</code></td>"
            f"<td>{escape(c['tenantId'])}</td></tr>" for c in store.connectors.values()
        )
        clock = _time(store.now())
    back = '<p><a href="/_sandbox/">all phones</a></p>' if focus else ""
    # One phone's page reloads itself from its script (not while a person types); the overview by meta refresh.
    refresh = "" if focus else '<meta http-equiv="refresh" content="5">'
    script = f"<script>{SCRIPT}</script>" if focus else ""
    return (
        f"<!doctype html><html><head><meta charset=\"utf-8\">{refresh}"
        f"<title>Kaizala sandbox</title><style>{STYLE}</style></head><body>"
        f"<h1>Kaizala sandbox</h1><p class=\"meta\">Sandbox clock: {escape(clock)}</p>{back}"
        f'<div class="phones">{cards}</div><h3>Connectors</h3><table>{connectors}</table>{script}</body></html>'
    )
