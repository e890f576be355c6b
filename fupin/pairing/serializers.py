"""Input and output shapes of the pairing API. Inputs only parse; the services decide."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fupin.accounts.roles import RankLevel
from fupin.pairing.models import Pairing, TeamMember, VisitPhoto


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(household|orphan)$",
        "description": "`household` (responsible official) or `orphan` (a leader's orphan)",
    }
)
class PairingKindField(serializers.ChoiceField):
    """The kind of a pairing, documented by pattern: an enum would collide with another app's
    ``kind`` enum name in the schema (drf-spectacular names enums by field)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Pairing.Kind.choices, **kwargs)


class OfficialBriefSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(source="user.username")
    full_name = serializers.CharField()
    unit = serializers.CharField()
    rank_level = serializers.ChoiceField(choices=RankLevel.choices)


class PairingOutputSerializer(serializers.Serializer[Any]):
    public_id = serializers.UUIDField()
    official = OfficialBriefSerializer()
    household_no = serializers.CharField(source="household.household_no")
    division_code = serializers.CharField(source="household.division.code")
    kind = PairingKindField()
    member = serializers.UUIDField(source="member.public_id", allow_null=True, default=None)
    member_name = serializers.CharField(source="member.name", allow_null=True, default=None)
    origin = serializers.ChoiceField(choices=Pairing.Origin.choices)
    started_on = serializers.DateField()
    ended_on = serializers.DateField(allow_null=True)
    end_reason = serializers.CharField()
    last_visited_on = serializers.DateField(allow_null=True)
    is_active = serializers.BooleanField()


class PairingAssignInputSerializer(serializers.Serializer[Any]):
    official = serializers.CharField(max_length=150, help_text="the official's username")
    household_no = serializers.CharField(max_length=32)
    kind = PairingKindField(default=Pairing.Kind.HOUSEHOLD)
    member = serializers.UUIDField(
        required=False, allow_null=True, help_text="the orphan's public id (orphan pairings)"
    )
    started_on = serializers.DateField(required=False, help_text="default: today")


class PairingEndInputSerializer(serializers.Serializer[Any]):
    ended_on = serializers.DateField(required=False, help_text="default: today")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class OfficialOutputSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(source="user.username")
    full_name = serializers.CharField()
    unit = serializers.CharField()
    rank_level = serializers.ChoiceField(choices=RankLevel.choices)
    households = serializers.IntegerField(help_text="active household pairings")
    orphans = serializers.IntegerField(help_text="active orphan pairings")
    household_quota = serializers.IntegerField()
    orphan_quota = serializers.IntegerField()


class CoverageRowSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()
    is_self = serializers.BooleanField(help_text="counted directly at the report's division")
    households = serializers.IntegerField(help_text="households in the pairing programme")
    covered = serializers.IntegerField(help_text="with a responsible official")
    uncovered = serializers.IntegerField(help_text="without a responsible official")
    officials = serializers.IntegerField(help_text="pairing officials anchored here")
    places = serializers.IntegerField(help_text="their household places by quota")
    assigned = serializers.IntegerField(help_text="their active household pairings")
    over_quota = serializers.IntegerField()
    under_quota = serializers.IntegerField()


class DivisionBriefSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()


class CoverageOutputSerializer(serializers.Serializer[Any]):
    division = DivisionBriefSerializer()
    day = serializers.DateField()
    statuses = serializers.ListField(child=serializers.CharField())
    total = CoverageRowSerializer()
    rows = CoverageRowSerializer(many=True)


class ProposalInputSerializer(serializers.Serializer[Any]):
    division = serializers.CharField(
        max_length=12, required=False, allow_blank=True, default="", help_text="default: your area"
    )
    apply = serializers.BooleanField(default=False, help_text="write the proposed pairings")


class ProposalCountySerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    households = serializers.IntegerField()
    matched = serializers.IntegerField()
    shortfall = serializers.IntegerField()
    orphans = serializers.IntegerField()
    orphans_matched = serializers.IntegerField()


class ProposalOutputSerializer(serializers.Serializer[Any]):
    division = serializers.CharField()
    day = serializers.DateField()
    households_without_official = serializers.IntegerField()
    households_matched = serializers.IntegerField()
    households_shortfall = serializers.IntegerField()
    orphans_without_official = serializers.IntegerField()
    orphans_matched = serializers.IntegerField()
    orphans_shortfall = serializers.IntegerField()
    officials = serializers.IntegerField()
    officials_used = serializers.IntegerField()
    free_places = serializers.IntegerField()
    free_orphan_places = serializers.IntegerField()
    by_level = serializers.DictField(child=serializers.IntegerField())
    counties = ProposalCountySerializer(many=True)
    applied = serializers.IntegerField()
    seconds = serializers.FloatField()


class VisitPhotoOutputSerializer(serializers.Serializer[Any]):
    public_id = serializers.UUIDField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, photo: VisitPhoto) -> str:
        return reverse("api-visit-photo", args=[photo.visit.public_id, photo.public_id])


class VisitOutputSerializer(serializers.Serializer[Any]):
    public_id = serializers.UUIDField()
    official = OfficialBriefSerializer()
    household_no = serializers.CharField(source="household.household_no")
    visited_on = serializers.DateField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    content = serializers.CharField()
    next_steps = serializers.CharField()
    photos = VisitPhotoOutputSerializer(many=True)
    recorded_by = serializers.CharField(
        source="recorded_by.username", allow_null=True, default=None
    )
    created_at = serializers.DateTimeField()


class VisitInputSerializer(serializers.Serializer[Any]):
    official = serializers.CharField(max_length=150, help_text="the official's username")
    household_no = serializers.CharField(max_length=32)
    visited_on = serializers.DateField()
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True
    )
    content = serializers.CharField(max_length=5000)
    next_steps = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, help_text="JPEG, PNG or WebP"
    )


class PhotosInputSerializer(serializers.Serializer[Any]):
    photos = serializers.ListField(child=serializers.FileField(), help_text="JPEG, PNG or WebP")


class OverdueOfficialSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    full_name = serializers.CharField()
    unit = serializers.CharField()
    overdue = serializers.IntegerField()
    households = serializers.IntegerField()


class OverdueVillageSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    overdue = serializers.IntegerField()


class OverdueOutputSerializer(serializers.Serializer[Any]):
    division = DivisionBriefSerializer()
    day = serializers.DateField()
    total = serializers.IntegerField(help_text="overdue pairings in the division")
    by_official = OverdueOfficialSerializer(many=True)
    by_village = OverdueVillageSerializer(many=True)


class TeamMemberOutputSerializer(serializers.Serializer[Any]):
    public_id = serializers.UUIDField()
    official = OfficialBriefSerializer()
    role = serializers.ChoiceField(choices=TeamMember.Role.choices)
    unit = serializers.CharField()
    started_on = serializers.DateField()
    ended_on = serializers.DateField(allow_null=True)
    attendance = serializers.SerializerMethodField(help_text="month (YYYY-MM) → days")

    def get_attendance(self, member: TeamMember) -> dict[str, int]:
        months: dict[int, dict[str, int]] = self.context.get("attendance", {})
        return months.get(member.pk, {})


class KeyVillageOutputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(source="village.division.code")
    name = serializers.CharField(source="village.division.name")
    designated_year = serializers.IntegerField(source="village.designated_year")
    first_secretary = TeamMemberOutputSerializer(source="secretary", allow_null=True)
    members = serializers.IntegerField(help_text="active team members")
    attendance_days = serializers.IntegerField(help_text="days in the village this year")
    flagged = serializers.BooleanField(help_text="no first secretary")


class KeyVillageDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    designated_year = serializers.IntegerField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source
    has_first_secretary = serializers.BooleanField()
    team = TeamMemberOutputSerializer(many=True)


class TeamMemberInputSerializer(serializers.Serializer[Any]):
    official = serializers.CharField(max_length=150, help_text="the official's username")
    role = serializers.ChoiceField(choices=TeamMember.Role.choices)
    unit = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    started_on = serializers.DateField()


class TeamEndInputSerializer(serializers.Serializer[Any]):
    ended_on = serializers.DateField(required=False)


class AttendanceInputSerializer(serializers.Serializer[Any]):
    days = serializers.IntegerField(min_value=0, max_value=31)


class AttendanceOutputSerializer(serializers.Serializer[Any]):
    month = serializers.CharField()
    days = serializers.IntegerField()


class QuotaRuleSerializer(serializers.Serializer[Any]):
    rank_level = serializers.ChoiceField(choices=RankLevel.choices)
    households = serializers.IntegerField(min_value=0, max_value=100)
    orphans = serializers.IntegerField(min_value=0, max_value=10)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(read_only=True, allow_null=True)
    source = serializers.CharField(max_length=300)  # type: ignore[assignment]  # a field named like Field.source


class VisitRuleSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    statuses = serializers.ListField(child=serializers.CharField())
    interval_days = serializers.IntegerField()
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source


class HelpUnitSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    home = serializers.CharField(
        source="home.code", max_length=12, help_text="division code of the unit's seat"
    )
    paired = serializers.CharField(
        source="paired_division.code",
        max_length=12,
        help_text="code of the village or township the unit is paired with",
    )
