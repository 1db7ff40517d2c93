"""The message table's rows (messaging/partials/message_table.html), built in Python: the list shows 50 a page,
and rendering the row through the template engine (a variable lookup, a filter and an escape for each cell)
was most of the page's CPU. The markup is the row template's as it was, every text escaped."""

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from kaizala_console.templatetags.console import state_badge
from messaging.models import Message

register = template.Library()

_BADGES = {value: state_badge(value, label) for value, label in Message.Status.choices}
_ROW = "\n".join([
    "",
    '    <tr data-testid="message-row" data-pk="{pk}">',
    "      {choose}",
    '      <td class="text-nowrap"><a href="{url}{pk}/">{scheduled}</a>{recurring}</td>',
    "      <td>{group}</td>",
    '      <td class="text-break">{text}</td>',
    "      <td>{badge}{overdue}{notes}</td>",
    '      <td class="text-nowrap small">{sent}</td>',
    "      <td>{attempts}</td>",
    "    </tr>",
    "  ",
])
_CHOOSE = ('<td><input class="form-check-input" type="checkbox" name="ids" value="{pk}" form="bulk-form" '
           'aria-label="Choose message {pk}"></td>')
_RECURRING = ' <span class="badge text-bg-light border" title="from a recurring schedule">recurring</span>'
_OVERDUE = (' <span class="badge text-bg-danger" title="due over a minute ago and not sent: is a worker running?">'
            'overdue</span>')
_HELD = '<div class="small text-secondary">connector deactivated</div>'
_RETRYING = '<div class="small text-secondary">next {}</div>'


def _local(value, *, seconds: bool = False) -> str:
    """`value|date:"Y-m-d H:i"` (`"Y-m-d H:i:s"` with `seconds`) in the reader's time zone, the one the request
    activated."""
    t = timezone.localtime(value)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"
    return f"{text}:{t.second:02d}" if seconds else text


def _text(value: str) -> str:
    """`value|truncatechars:80`; short ASCII text (no combining characters, already NFC) comes back as it is."""
    return value if len(value) <= 80 and value.isascii() else Truncator(value).chars(80)


@register.simple_tag
def message_rows(rows, list_url, selectable=False):
    """One <tr> per message of `rows` (each with its group loaded); `list_url` is the list's URL, a message's
    page being <list>/<pk>/."""
    url = escape(list_url)
    html = []
    for m in rows:
        pk = m.pk
        status = m.status
        if status == Message.Status.HELD:
            notes = _HELD
        elif status == Message.Status.RETRYING:
            notes = _RETRYING.format(f"{timezone.localtime(m.due_at):%H:%M:%S}")
        else:
            notes = ""
        html.append(_ROW.format(
            pk=pk, choose=_CHOOSE.format(pk=pk) if selectable else "", url=url, scheduled=_local(m.scheduled_for),
            recurring=_RECURRING if m.schedule_id else "", group=escape(m.group.name), text=escape(_text(m.text)),
            badge=_BADGES.get(status) or state_badge(status), overdue=_OVERDUE if m.is_overdue else "",
            notes=notes,
            sent="—" if m.sent_at is None else _local(m.sent_at, seconds=True), attempts=m.attempt_count))
    return mark_safe("".join(html))  # noqa: S308 - every text in it is escaped above, the rest are numbers
