"""API v1 serializers of the exchange jobs: input serializers parse types, output serializers
shape a job. The services validate; the report's shape is exchange-format §6.

Output serializers read ``request`` (for absolute links) and ``language`` from their context.
"""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fupin.exchange.models import Job
from fupin.exchange.selectors import data_file, job_error_text, job_progress, job_report
from fupin.exchange.services import MODES

# ---------------------------------------------------------------------------------------------
# Input


class ImportCreateInputSerializer(serializers.Serializer[Any]):
    file = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        max_length=2,
        help_text="One XLSX workbook or ZIP; or the field twice: households.csv and members.csv.",
    )
    mode = serializers.ChoiceField(choices=MODES, default="strict")
    dry_run = serializers.BooleanField(default=False)


class ExportCreateInputSerializer(serializers.Serializer[Any]):
    format = serializers.ChoiceField(choices=("xlsx", "csv"), default="xlsx")
    division = serializers.RegexField(
        r"^[0-9]{12}$",
        required=False,
        allow_blank=True,
        default="",
        help_text="12-digit division code in the actor's area; empty for the whole area.",
    )
    since = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="only households changed since"
    )
    year = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=2000, max_value=2100
    )
    masked = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="mask id numbers and phones; default: unmasked only for roles that see them",
    )


# ---------------------------------------------------------------------------------------------
# Output: schema pieces


class ProgressOutputSerializer(serializers.Serializer[Any]):
    stage = serializers.CharField(help_text="e.g. households, members")
    stage_label = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class JobErrorOutputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()


class IssueOutputSerializer(serializers.Serializer[Any]):
    sheet = serializers.CharField()
    row = serializers.IntegerField(help_text="as Excel shows it: the header is row 1")
    column = serializers.CharField(help_text="the Chinese column header")
    code = serializers.CharField()
    message = serializers.CharField()
    value = serializers.CharField(required=False, help_text="never personal data")


class ImportCountsOutputSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()


class MemberCountsOutputSerializer(ImportCountsOutputSerializer):
    left = serializers.IntegerField()


class ImportReportOutputSerializer(serializers.Serializer[Any]):
    """exchange-format §6."""

    ok = serializers.BooleanField()
    mode = serializers.ChoiceField(choices=MODES)
    dry_run = serializers.BooleanField()
    encoding = serializers.CharField()
    households = ImportCountsOutputSerializer()
    members = MemberCountsOutputSerializer()
    error_list = IssueOutputSerializer(many=True)
    warnings = IssueOutputSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "errors" is the serializer's own attribute: the field is declared under another name.
        fields = super().get_fields()
        fields["errors"] = fields.pop("error_list")
        return fields


class ExportResultOutputSerializer(serializers.Serializer[Any]):
    households = serializers.IntegerField()
    members = serializers.IntegerField()


# ---------------------------------------------------------------------------------------------
# Output: jobs


def _link(serializer: serializers.BaseSerializer[Any], name: str, job: Job) -> str:
    url = reverse(name, kwargs={"job_id": str(job.public_id)})
    request = serializer.context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


class JobOutputSerializer(serializers.ModelSerializer[Job]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    started_at = serializers.DateTimeField(source="claimed_at", read_only=True)
    progress = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    detail_route = ""

    class Meta:
        model = Job
        fields = [
            "id", "url", "kind", "status", "created_by", "created_at", "started_at",
            "finished_at", "attempts", "progress", "error",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_url(self, job: Job) -> str:
        return _link(self, self.detail_route, job)

    @extend_schema_field(ProgressOutputSerializer)
    def get_progress(self, job: Job) -> dict[str, Any]:
        view = job_progress(job)
        return {
            "stage": view.stage,
            "stage_label": view.stage_label,
            "done": view.done,
            "total": view.total,
        }

    @extend_schema_field(JobErrorOutputSerializer(allow_null=True))
    def get_error(self, job: Job) -> dict[str, str] | None:
        if not job.error:
            return None
        code = str(job.error.get("code", ""))
        return {"code": code, "message": job_error_text(job, self.context.get("language"))}


class ImportJobOutputSerializer(JobOutputSerializer):
    mode = serializers.SerializerMethodField()
    dry_run = serializers.SerializerMethodField()
    sha256 = serializers.CharField(source="file_sha256", read_only=True)
    report = serializers.SerializerMethodField()
    error_workbook = serializers.SerializerMethodField()

    detail_route = "api-import-detail"

    class Meta(JobOutputSerializer.Meta):
        fields = [
            *JobOutputSerializer.Meta.fields,
            "file_name", "file_size", "sha256", "mode", "dry_run", "report", "error_workbook",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=MODES))
    def get_mode(self, job: Job) -> str:
        return str(job.params.get("mode", "strict"))

    @extend_schema_field(serializers.BooleanField())
    def get_dry_run(self, job: Job) -> bool:
        return bool(job.params.get("dry_run"))

    @extend_schema_field(ImportReportOutputSerializer(allow_null=True))
    def get_report(self, job: Job) -> dict[str, Any] | None:
        return job_report(job, self.context.get("language"))

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_error_workbook(self, job: Job) -> str | None:
        if data_file(job.error_workbook_path) is None:
            return None
        return _link(self, "api-import-error-workbook", job)


class ExportJobOutputSerializer(JobOutputSerializer):
    format = serializers.SerializerMethodField()
    division = serializers.SerializerMethodField()
    since = serializers.SerializerMethodField()
    year = serializers.SerializerMethodField()
    masked = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField()

    detail_route = "api-export-detail"

    class Meta(JobOutputSerializer.Meta):
        fields = [
            *JobOutputSerializer.Meta.fields,
            "format", "division", "since", "year", "masked", "result", "download",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=("xlsx", "csv")))
    def get_format(self, job: Job) -> str:
        return str(job.params.get("format", "xlsx"))

    @extend_schema_field(serializers.CharField())
    def get_division(self, job: Job) -> str:
        return str(job.params.get("division_code") or "")

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_since(self, job: Job) -> str | None:
        since = job.params.get("since")
        return str(since) if since else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_year(self, job: Job) -> int | None:
        year = job.params.get("year")
        return int(year) if year is not None else None

    @extend_schema_field(serializers.BooleanField())
    def get_masked(self, job: Job) -> bool:
        return bool(job.params.get("masked"))

    @extend_schema_field(ExportResultOutputSerializer(allow_null=True))
    def get_result(self, job: Job) -> dict[str, Any] | None:
        return job_report(job)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download(self, job: Job) -> str | None:
        if data_file(job.result_path) is None:
            return None
        return _link(self, "api-export-download", job)
