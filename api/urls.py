"""/api/: the REST API (v1), its schema and docs, and the console's API keys pages.

The API views authenticate by key only, so the login redirect does not apply to them (401 JSON instead).
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path

from api import pages, views

app_name = "api"


def _api(view_class, **kwargs):
    return login_not_required(view_class.as_view(**kwargs))


urlpatterns = [
    path("schema/", login_not_required(views.schema), name="schema"),
    path("docs/", views.docs, name="docs"),
    path("keys/", pages.key_list, name="keys"),
    path("keys/new/", pages.key_create, name="key_create"),
    path("keys/<int:pk>/revoke/", pages.key_revoke, name="key_revoke"),
    path("deliveries/", pages.delivery_list, name="deliveries"),
    path("deliveries/<int:pk>/replay/", pages.delivery_replay, name="delivery_replay"),
    path("v1/connectors/", _api(views.ConnectorList), name="connectors"),
    path("v1/connectors/<int:pk>/", _api(views.ConnectorDetail), name="connector"),
    path("v1/phone-users/", _api(views.PhoneUserList), name="phone_users"),
    path("v1/phone-users/<int:pk>/", _api(views.PhoneUserDetail), name="phone_user"),
    path("v1/groups/", _api(views.GroupList), name="groups"),
    path("v1/groups/<int:pk>/", _api(views.GroupDetail), name="group"),
    path("v1/groups/<int:pk>/members/", _api(views.GroupMembers), name="group_members"),
    path("v1/groups/<int:pk>/members/<int:member_pk>/", _api(views.GroupMemberRemove), name="group_member"),
    path("v1/messages/", _api(views.MessageList), name="messages"),
    path("v1/messages/<int:pk>/", _api(views.MessageDetail), name="message"),
    path("v1/messages/<int:pk>/cancel/", _api(views.MessageCancel), name="message_cancel"),
    path("v1/messages/<int:pk>/retry/", _api(views.MessageRetry), name="message_retry"),
    path("v1/messages/<int:pk>/results/", _api(views.MessageResults), name="message_results"),
    path("v1/posts/", _api(views.PostFeed), name="posts"),
    path("v1/responses/", _api(views.ResponseFeed), name="responses"),
    path("v1/schedules/", _api(views.ScheduleList), name="schedules"),
    path("v1/schedules/<int:pk>/", _api(views.ScheduleDetail), name="schedule"),
    path("v1/schedules/<int:pk>/pause/", _api(views.SchedulePause), name="schedule_pause"),
    path("v1/schedules/<int:pk>/resume/", _api(views.ScheduleResume), name="schedule_resume"),
    path("v1/schedules/<int:pk>/end/", _api(views.ScheduleEnd), name="schedule_end"),
    path("v1/callback/", _api(views.Callback), name="callback"),
    re_path(r"^v1/", _api(views.NoSuchUrl), name="not_found"),  # last: what no route above matched
]
