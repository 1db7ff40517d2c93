"""The REST API: thin views over the apps' services and selectors (the pages' rules, one for both)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404
from drf_spectacular.renderers import OpenApiJsonRenderer2, OpenApiYamlRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from actions import selectors as action_selectors
from actions import services as action_services
from api import callbacks
from api.auth import api_actor
from api.errors import Conflict
from api.filters import GroupFilter, MessageFilter, PhoneUserFilter, PostFilter, ResponseFilter, ScheduleFilter
from api.idempotency import HEADER, once
from api.pagination import FollowFeed
from api.serializers import (
    CallbackRegisteredSerializer,
    CallbackSerializer,
    ConnectorSerializer,
    GroupCreateSerializer,
    GroupDetailSerializer,
    GroupSerializer,
    MembersAddedSerializer,
    MembersAddSerializer,
    MessageCreatedSerializer,
    MessageCreateSerializer,
    MessageDetailSerializer,
    MessageSerializer,
    PhoneUserSerializer,
    PostSerializer,
    ResponseSerializer,
    ResultsSerializer,
    ScheduleSerializer,
    checked,
    compose_fields,
)
from connectors import selectors as connector_selectors
from events import selectors as event_selectors
from groups import membership
from groups import selectors as group_selectors
from groups import services as group_services
from groups.forms import GroupCreateForm, MembersForm
from groups.models import GroupMember
from messaging import selectors as message_selectors
from messaging import services as message_services
from messaging.forms import ComposeForm
from messaging.models import Message, Schedule

IDEMPOTENCY = OpenApiParameter(HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                               description="Repeat a POST safely: the same key and body get the first answer.")


# The schema is public (it shows the API's shape, no data): tools and the docs page read it without a key.
# JSON by default, as the API answers (`?format=yaml` for YAML).
schema = SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[permissions.AllowAny],
                                    renderer_classes=[OpenApiJsonRenderer2, OpenApiYamlRenderer])
# The docs page is a console page: login as for any page (DRF marks its views login_not_required). Its
# script is a second request (the "split" view) and its style a static file, so the console's CSP holds.
docs = login_required(SpectacularSwaggerSplitView.as_view(
    url_name="api:schema", template_name="api/swagger_ui.html", authentication_classes=[],
    permission_classes=[permissions.AllowAny]))


class NewestFirst(CursorPagination):
    """Keyset paging on the id: a page is stable while new rows arrive (follow `next`)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ConnectorList(generics.ListAPIView):
    serializer_class = ConnectorSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        return connector_selectors.connector_list()


class ConnectorDetail(generics.RetrieveAPIView):
    serializer_class = ConnectorSerializer

    def get_queryset(self):
        return connector_selectors.connector_list()


class PhoneUserList(generics.ListAPIView):
    serializer_class = PhoneUserSerializer
    pagination_class = NewestFirst
    filterset_class = PhoneUserFilter

    def get_queryset(self):
        return connector_selectors.phone_user_list()


class PhoneUserDetail(generics.RetrieveAPIView):
    serializer_class = PhoneUserSerializer

    def get_queryset(self):
        return connector_selectors.phone_user_list()


class GroupList(generics.ListCreateAPIView):
    pagination_class = NewestFirst
    filterset_class = GroupFilter

    def get_queryset(self):
        return group_selectors.group_list()

    def get_serializer_class(self):
        return GroupCreateSerializer if self.request.method == "POST" else GroupSerializer

    @extend_schema(parameters=[IDEMPOTENCY], request=GroupCreateSerializer, responses={201: GroupSerializer})
    def post(self, request):
        shape = GroupCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = dict(shape.validated_data, members="\n".join(shape.validated_data["members"]))
        form = checked(GroupCreateForm, data).cleaned_data

        def create():
            group = group_services.group_create(
                actor=api_actor(request), phone_user=form["phone_user"], name=form["name"],
                welcome_message=form["welcome_message"], group_type=form["group_type"], members=form["entries"])
            return Response(GroupSerializer(group).data, status=status.HTTP_201_CREATED)

        return once(request, create)


class GroupDetail(generics.RetrieveAPIView):
    serializer_class = GroupDetailSerializer

    def get_queryset(self):
        return group_selectors.group_list().prefetch_related("members")


class GroupMembers(APIView):
    @extend_schema(parameters=[IDEMPOTENCY], request=MembersAddSerializer, responses={202: MembersAddedSerializer})
    def post(self, request, pk):
        group = get_object_or_404(group_selectors.group_list(), pk=pk)
        shape = MembersAddSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        entries = checked(MembersForm, {"members": "\n".join(shape.validated_data["members"])}).cleaned_data["entries"]
        return once(request, lambda: Response(
            {"requested": membership.members_add(group=group, entries=entries, actor=api_actor(request))},
            status=status.HTTP_202_ACCEPTED))


class GroupMemberRemove(APIView):
    @extend_schema(request=None, responses={202: None})
    def delete(self, request, pk, member_pk):
        member = get_object_or_404(GroupMember.objects.select_related("group__phone_user"), pk=member_pk, group_id=pk)
        membership.member_remove(member=member, actor=api_actor(request))
        return Response(status=status.HTTP_202_ACCEPTED)


class MessageList(generics.ListCreateAPIView):
    pagination_class = NewestFirst
    filterset_class = MessageFilter

    def get_queryset(self):
        return message_selectors.message_list()

    def get_serializer_class(self):
        return MessageCreateSerializer if self.request.method == "POST" else MessageSerializer

    @extend_schema(parameters=[IDEMPOTENCY], request=MessageCreateSerializer,
                   responses={201: MessageCreatedSerializer})
    def post(self, request):
        shape = MessageCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data, recurrence = shape.validated_data, shape.validated_data.get("recurrence")
        when = ComposeForm.RECURRING if recurrence else ComposeForm.ONCE if data.get("send_at") else ComposeForm.NOW
        fields, files, names = compose_fields(data)
        fields.update({"groups": data["groups"], "when": when, "send_at": data.get("send_at"),
                       "to_all_subscribers": data["to_all_subscribers"],
                       "subscribers": "\n".join(data["subscribers"])})
        if recurrence:
            fields.update({k: v for k, v in recurrence.items() if k != "time_zone" and v is not None})
        form = checked(ComposeForm, fields, files=files, names=names,
                       time_zone=recurrence["time_zone"] if recurrence else "UTC")
        cleaned, audience = form.cleaned_data, form.audience()
        what = {"kind": cleaned["kind"], "card": cleaned.get("card") or {}, "upload": cleaned.get("upload")}

        def create():
            if recurrence:
                schedule = message_services.schedule_create(
                    actor=api_actor(request), groups=list(cleaned["groups"]), text=cleaned["text"],
                    rule=cleaned["rule"], audience=audience, created_by=request.user, **what)
                body = {"messages": [], "schedule": ScheduleSerializer(schedule).data}
            else:
                created = message_services.message_create(
                    actor=api_actor(request), groups=list(cleaned["groups"]), text=cleaned["text"],
                    send_at=cleaned["send_at"] if when == ComposeForm.ONCE else None, audience=audience,
                    created_by=request.user, **what)
                body = {"messages": MessageSerializer(created, many=True).data, "schedule": None}
            return Response(body, status=status.HTTP_201_CREATED)

        return once(request, create)


class MessageDetail(generics.RetrieveAPIView):
    serializer_class = MessageDetailSerializer

    def get_queryset(self):
        return message_selectors.message_list().defer(None).prefetch_related("attempts")


class MessageResults(APIView):
    """A sent action's results: the running counts and tallies the results page shows."""

    @extend_schema(responses={200: ResultsSerializer})
    def get(self, request, pk):
        message = action_selectors.message(pk)
        if message is None:
            raise NotFound()
        refusal = action_services.sent_action(message)
        if refusal:
            raise Conflict(refusal)
        results = action_selectors.results(message)
        results.assignees = [{"mobile_number": phone, "completed": done} for phone, done in results.assignees]
        return Response(ResultsSerializer(results).data)


class PostFeed(generics.ListAPIView):
    """Members' posts in listened-to groups, oldest first: follow `next` to hear new ones."""

    serializer_class = PostSerializer
    pagination_class = FollowFeed
    filterset_class = PostFilter

    def get_queryset(self):
        return event_selectors.post_feed()


class ResponseFeed(generics.ListAPIView):
    """Members' responses to actions, oldest first: follow `next` to hear new ones. An edited answer keeps
    its row (and id): `updated_at` moves, and the `action.response` callback announces it."""

    serializer_class = ResponseSerializer
    pagination_class = FollowFeed
    filterset_class = ResponseFilter

    def get_queryset(self):
        return action_selectors.response_feed()


class MessageAction(APIView):
    service = None

    @extend_schema(request=None, responses={200: MessageSerializer})
    def post(self, request, pk):
        message = get_object_or_404(Message, pk=pk)
        self.service(message=message, actor=api_actor(request))
        return Response(MessageSerializer(message_selectors.message_detail(pk)).data)


class MessageCancel(MessageAction):
    service = staticmethod(message_services.message_cancel)


class MessageRetry(MessageAction):
    service = staticmethod(message_services.message_retry)


class ScheduleList(generics.ListAPIView):
    serializer_class = ScheduleSerializer
    pagination_class = NewestFirst
    filterset_class = ScheduleFilter

    def get_queryset(self):
        return message_selectors.schedule_list()


class ScheduleDetail(generics.RetrieveAPIView):
    serializer_class = ScheduleSerializer

    def get_queryset(self):
        return message_selectors.schedule_list()


class ScheduleAction(APIView):
    state = None

    @extend_schema(request=None, responses={200: ScheduleSerializer})
    def post(self, request, pk):
        schedule = get_object_or_404(Schedule, pk=pk)
        message_services.schedule_set_state(schedule=schedule, state=self.state, actor=api_actor(request))
        return Response(ScheduleSerializer(message_selectors.schedule_list().get(pk=pk)).data)


class SchedulePause(ScheduleAction):
    state = Schedule.State.PAUSED


class ScheduleResume(ScheduleAction):
    state = Schedule.State.ACTIVE


class ScheduleEnd(ScheduleAction):
    state = Schedule.State.ENDED


class Callback(APIView):
    """The URL where this key's system hears of events, signed (see the README: "Use the API")."""

    @extend_schema(responses={200: CallbackSerializer})
    def get(self, request):
        if not request.auth.callback_url:
            raise NotFound("This key has no callback URL.")
        return Response(CallbackSerializer(request.auth).data)

    @extend_schema(request=CallbackSerializer, responses={200: CallbackRegisteredSerializer})
    def put(self, request):
        shape = CallbackSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        try:
            secret = callbacks.callback_register(actor=api_actor(request), api_key=request.auth,
                                                 url=data["callback_url"], events=data["callback_events"])
        except callbacks.CallbackUrlRefused as exc:
            raise ValidationError({"url": exc.messages}) from None
        request.auth.refresh_from_db()
        return Response({**CallbackSerializer(request.auth).data, "secret": secret})

    @extend_schema(responses={204: None})
    def delete(self, request):
        callbacks.callback_unregister(api_key=request.auth, actor=api_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(exclude=True)
class NoSuchUrl(APIView):
    """Any other URL under /api/v1/ (a negative id, a typo): the API's 404 in JSON, after the key check."""

    def dispatch(self, request, *args, **kwargs):
        self.http_method_names = [request.method.lower()]  # every method reaches the 404, none is 405
        return super().dispatch(request, *args, **kwargs)

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound("No such API URL.")
