"""Input and output shapes of the procedures' API."""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import serializers

from fupin.procedures.definitions import ADVANCE, CHANNELS, PROCEDURES, REJECT
from fupin.procedures.models import Case, Objection


class CaseOutputSerializer(serializers.Serializer[Case]):
    id = serializers.UUIDField(source="public_id")
    procedure = serializers.CharField(help_text="identification, exit, monitoring or elimination")
    household_no = serializers.CharField(source="household.household_no")
    head_name = serializers.CharField(source="household.head_name")
    division_code = serializers.CharField(source="division.code")
    year = serializers.IntegerField()
    channel = serializers.CharField(
        help_text="monitoring: self_report, cadre_check, department_alert"
    )
    state = serializers.CharField(help_text="the current step, or the end state")
    state_label = serializers.SerializerMethodField()
    paused = serializers.BooleanField(help_text="an objection is unresolved")
    deadline = serializers.DateField(allow_null=True)
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_state_label(self, case: Case) -> str:
        return str(PROCEDURES[case.procedure].state_label(case.state))


class TransitionOutputSerializer(serializers.Serializer[Any]):
    action = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = serializers.CharField(source="actor_username")
    role = serializers.CharField()
    comment = serializers.CharField()
    at = serializers.DateTimeField()


class CommentOutputSerializer(serializers.Serializer[Any]):
    state = serializers.CharField()
    author = serializers.CharField(source="author_username")
    text = serializers.CharField()
    at = serializers.DateTimeField()


class ObjectionOutputSerializer(serializers.Serializer[Any]):
    state = serializers.CharField()
    text = serializers.CharField()
    raised_at = serializers.DateTimeField()
    decision = serializers.CharField(help_text="empty while unresolved; dismissed or upheld")
    resolution = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class AttachmentOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(help_text="the file, after the same access check")

    def get_url(self, attachment: Any) -> str:
        return reverse("api-attachment-file", kwargs={"attachment_id": attachment.public_id})


class CaseDetailOutputSerializer(CaseOutputSerializer):
    allowed_actions = serializers.ListField(
        child=serializers.CharField(), help_text="what the caller may do now: advance, reject"
    )
    publicity_ends = serializers.DateTimeField(allow_null=True)
    transitions = TransitionOutputSerializer(many=True)
    comments = CommentOutputSerializer(many=True)
    objections = ObjectionOutputSerializer(many=True)
    attachments = AttachmentOutputSerializer(many=True)


class TransitionInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=[ADVANCE, REJECT])
    to_state = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="the state the caller expects to reach; refused when it is not the next one",
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class BatchInputSerializer(serializers.Serializer[Any]):
    cases = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)
    action = serializers.ChoiceField(choices=[ADVANCE, REJECT])
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    all_or_nothing = serializers.BooleanField(
        required=False, default=False, help_text="one refusal rolls every case back"
    )


class BatchResultOutputSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="public_id")
    ok = serializers.BooleanField()
    state = serializers.CharField()
    code = serializers.CharField(
        help_text="why it was refused: wrong_level, paused, closed, publicity_running, "
        "out_of_order, no_reject, not_found, rolled_back, not_tried"
    )
    message = serializers.CharField()


class BatchOutputSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BatchResultOutputSerializer(many=True)


class CaseOpenInputSerializer(serializers.Serializer[Any]):
    household_no = serializers.CharField(max_length=32)
    procedure = serializers.ChoiceField(choices=list(PROCEDURES))
    year = serializers.IntegerField(min_value=2013, max_value=2100)
    channel = serializers.ChoiceField(
        choices=list(CHANNELS),
        required=False,
        allow_blank=True,
        default="",
        help_text="how the risk was discovered; required for monitoring, ignored otherwise",
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["procedure"] == "monitoring" and not attrs.get("channel"):
            raise serializers.ValidationError(
                {"channel": [_("Choose how the risk was discovered.")]}
            )
        return attrs


class TextInputSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()


class ResolveInputSerializer(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(
        choices=Objection.Decision.values,
        help_text="dismissed: the case resumes, the publicity period extended by the pause; "
        "upheld: the case is rejected",
    )
    resolution = serializers.CharField()


class AttachmentInputSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text="PDF, JPEG, PNG, Word, Excel or plain text, within the size limit"
    )


class RefusalOutputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    detail = serializers.CharField()
