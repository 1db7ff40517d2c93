"""GET /_sandbox/: what each phone would see, for a person watching a demo.

One phone's page (?mobileNumber=…) also lets a person act as that phone: write into a group (text, or an
image by URL), answer a post (threaded), join a group. Its forms post JSON to the control API with fetch.
Names, texts and numbers come from outside, so every value goes through html.escape.
"""

import base64
import datetime
import json
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
.card{border:1px solid #d7dce5;border-radius:8px;padding:.4rem .6rem;margin:.3rem 0;background:#fafbfd}
.card .kind{font-size:.7rem;text-transform:uppercase;color:#4a7bd0;letter-spacing:.05em}
.card ol,.card ul{margin:.2rem 0;padding-left:1.2rem}form.answer label{display:block}
form.answer{border:1px dashed #c5ccd8;border-radius:8px;padding:.3rem .5rem}
"""

# Posts each phone form as JSON (the control API takes state changes as JSON only), then reloads.
# Reloads every 2 s too, so posts from the console show up, unless someone is filling in a form (text typed or
# focused, a choice ticked) or a form is on its way (its own reload follows).
SCRIPT = """
var sending = false;
document.querySelectorAll('form[data-post]').forEach(function (form) {
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    sending = true;
    var body = {};
    new FormData(form).forEach(function (value, key) {
      if (value === '') { return; }
      if (form.querySelector('[name="' + key + '"][data-many]')) { (body[key] = body[key] || []).push(value); }
      else { body[key] = value; }
    });
    fetch(form.dataset.post, {method: 'POST', headers: {'Content-Type': 'application/json'},
                              body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (res) {
        if (res[0]) { location.reload(); } else { sending = false; alert(res[1].message || 'Refused'); }
      });
  });
});
setInterval(function () {
  var typing = Array.prototype.some.call(document.querySelectorAll('input[type=text]'),
                                         function (i) { return i.value !== '' || i === document.activeElement; });
  var ticked = document.querySelector('form[data-post] input[type=radio]:checked, '
                                      + 'form[data-post] input[type=checkbox]:checked') !== null;
  if (!typing && !ticked && !sending) location.reload();
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
        parts.extend(_thread(feed[-20:], store))
        if writable:
            # One form per action: a reminder of it is no second post to answer.
            parts.extend(_answer_form(group, phone, m, store.actions.get(m["actionId"]))
                         for m in feed[-20:] if m.get("actionId") and m.get("kind") != "reminder")
            parts.append(_write_form(group, phone, feed[-20:]))
    if writable:
        parts.extend(_join_form(group, phone) for group in store.groups.values()
                     if phone not in group["members"] and phone not in group["subscribers"])
    parts.append("</div>")
    return "".join(parts)


def _media_links(resources) -> str:
    """Links to the files behind mediaResource strings (the sandbox's own uploads; anything else is skipped)."""
    links = []
    for resource in resources:
        try:
            files = json.loads(base64.b64decode(str(resource))).get("Files") or []
        except (ValueError, AttributeError):
            continue
        for item in files:
            if isinstance(item, dict) and item.get("Id"):
                links.append(f'<a class="media" href="/_sandbox/media/{escape(urllib.parse.quote(str(item["Id"])))}'
                             f'/file">{escape(str(item.get("Name") or "file"))}</a>')
    return " ".join(links)


def _card(action) -> str:
    """An action as a phone shows it: its kind and content (choices, questions, assignees, meeting, file)."""
    kind, fields = action["actionType"], action["fields"]
    head = f'<div class="kind">{escape(kind)}</div>'
    if kind == "Poll":
        body = (f"<b>{escape(fields['question'])}</b><ul>"
                + "".join(f"<li>{escape(c['title'])}</li>" for c in fields["choices"])
                + f"</ul>{len(action['responses'])} answer(s)")
    elif kind == "Survey":
        body = (f"<b>{escape(fields['title'])}</b><ol>"
                + "".join(f"<li>{escape(q['title'])} <span class='meta'>({escape(q['type'])})</span>"
                          + (" — " + escape(", ".join(o["title"] for o in q["options"])) if q["options"] else "")
                          + "</li>" for q in fields["questions"])
                + f"</ol>{len(action['responses'])} response(s)")
    elif kind == "Job":
        done = sum(1 for r in action["responses"] if r["body"].get("isCompleted"))
        body = (f"<b>{escape(fields['title'])}</b><div>assigned to {escape(', '.join(fields['assignedTo']))}</div>"
                f"<div class='meta'>due {escape(_time(fields['dueAt']))} · {done} completed</div>")
    elif kind == "LetsMeet":
        place = fields.get("place")
        place = place.get("name", "") if isinstance(place, dict) else str(place or "")
        body = (f"<b>{escape(fields['title'])}</b><div>starts {escape(fields['startingTime'])}, "
                f"{escape(str(fields['duration']))} min{', at ' + escape(place) if place else ''}</div>"
                + (f"<div>{escape(fields['agenda'])}</div>" if fields.get("agenda") else ""))
    elif kind == "Announcement":
        body = ((f"<b>{escape(fields['title'])}</b>" if fields["title"] else "")
                + f"<div>{escape(fields['message'])}</div>{_media_links(fields['mediaResources'])}")
    elif "mediaResource" in fields:
        body = _media_links([fields["mediaResource"]]) + (
            f"<div>{escape(fields['caption'])}</div>" if fields.get("caption") else "")
    else:
        body = escape(fields.get("title") or "")
    return f'<div class="card" data-action="{escape(action["actionId"])}">{head}{body}</div>'


def _message(message, css="msg", action=None) -> str:
    media = "".join(f' <a href="{escape(m["mediaUrl"])}">{escape(m["mediaFileName"])}</a>'
                    for m in message.get("media") or [] if m["mediaUrl"].startswith(("http://", "https://")))
    # A reminder names its action in its text; the action's card is the post it reminds of.
    reminder = message.get("kind") == "reminder"
    content = _card(action) if action and not reminder else f'{escape(message["text"])}{media}'
    return (f'<div class="{css}" data-ref="{escape(message["referenceId"])}">{content}'
            f'<div class="meta">from {escape(message["sender"])} · {escape(_time(message["arrivedAt"]))} · '
            f'{escape(message["via"])}</div></div>')


def _thread(feed, store=None) -> list[str]:
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
        actions = store.actions if store is not None else {}
        parts.append(_message(message, action=actions.get(message.get("actionId"))))
        parts.extend(_message(reply, "msg reply", action=actions.get(reply.get("actionId")))
                     for reply in replies.get(message["referenceId"], []))
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


def _answer_form(group, phone, message, action=None) -> str:
    """How a member answers: a poll's choices, a survey's questions, a job's "done"; a free text for the rest."""
    gid = urllib.parse.quote(group["groupId"], safe="@")
    target = escape(f"/_sandbox/groups/{gid}/actions/{urllib.parse.quote(message['actionId'], safe='')}/answer")
    start = (f'<form class="write answer" data-post="{target}" data-action="{escape(message["actionId"])}">'
             f'<input type="hidden" name="from" value="{escape(phone)}">')
    kind = action["actionType"] if action else ""
    if kind in ("Announcement", "LetsMeet", "Image", "Audio", "Document", "Video", "Album"):
        return ""  # nothing to answer
    if kind == "Poll":
        fields = "".join(f'<label><input type="radio" name="answer" value="{escape(c["title"])}"> '
                         f'{escape(c["title"])}</label>' for c in action["fields"]["choices"])
        question = escape(action["fields"]["question"])
        return f'{start}<div>{question}</div>{fields}<button type="submit">Vote</button></form>'
    if kind == "Job":
        if phone not in action["fields"]["assignedTo"]:
            return ""
        return (f'{start}<input type="hidden" name="answer" value="done"><button type="submit">Mark “'
                f'{escape(action["fields"]["title"])}” done</button></form>')
    if kind == "Survey":
        rows = []
        for index, question in enumerate(action["fields"]["questions"]):
            name, title = f"answer_{index}", escape(question["title"])
            if question["type"] in ("SingleOption", "MultiOption"):
                many = question["type"] == "MultiOption"
                boxes = "".join(
                    f'<label><input type="{"checkbox" if many else "radio"}" name="{name}"'
                    f'{" data-many" if many else ""} value="{escape(o["title"])}"> {escape(o["title"])}</label>'
                    for o in question["options"])
                rows.append(f"<div>{title}{boxes}</div>")
            else:
                kind_input = {"Numeric": "number", "Date": "date", "DateTime": "datetime-local"}.get(
                    question["type"], "text")
                hint = " (latitude, longitude)" if question["type"] == "Location" else ""
                rows.append(f'<div><label>{title}{escape(hint)} <input type="{kind_input}" name="{name}" '
                            f'aria-label="{title}"></label></div>')
        return f'{start}{"".join(rows)}<button type="submit">Send answers</button></form>'
    return (f'{start}<input type="text" name="answer" placeholder="Answer the {escape(message["kind"])} from '
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
