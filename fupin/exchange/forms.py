"""Forms of the import and export pages, and the upload guard shared with the API."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from fupin.exchange.access import masked_export_forced
from fupin.exchange.services import upload_too_large_message
from fupin.registry.forms import division_filter_choices


class UploadLimitHandler(FileUploadHandler):
    """Stops reading an upload once it passes ``settings.UPLOAD_MAX_BYTES``, before it fills the
    disk; the view then answers with a form error (``exceeded``).

    Install it before the request body is read (``install``). Fields placed before the file in
    the form (the CSRF token, mode, dry run) are still read."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = settings.UPLOAD_MAX_BYTES
        self.received = 0
        self.exceeded = False

    @classmethod
    def install(cls, request: HttpRequest) -> "UploadLimitHandler":
        handler = cls(request)
        request.upload_handlers = [handler, *request.upload_handlers]
        return handler

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            # Read and drop the rest of the body, so the browser gets the answer.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        return None


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PackageField(forms.FileField):
    """One package file, or the two CSV files: always a list of uploaded files."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        cleaned = single(data, initial)
        return [cleaned] if cleaned else []


class ImportForm(forms.Form):
    # Mode and dry run come before the file: they are read even when the upload is cut off.
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[
            ("strict", _("Strict: any error rejects the whole package")),
            ("partial", _("Partial: households with errors are rejected, the rest applied")),
        ],
        initial="strict",
        widget=forms.RadioSelect,
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check and report, write nothing"), required=False
    )
    file = PackageField(
        label=_("Package"),
        help_text=_(
            "An XLSX workbook (sheets 户信息 and 成员信息), a ZIP holding households.csv and "
            "members.csv, or both CSV files selected together."
        ),
        widget=MultipleFileInput(attrs={"accept": ".xlsx,.zip,.csv"}),
    )

    def __init__(self, *args: Any, too_large: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        if too_large:
            self.fields["file"].required = False

    def clean_file(self) -> list[UploadedFile]:
        if self.too_large:
            raise forms.ValidationError(upload_too_large_message())
        files: list[UploadedFile] = self.cleaned_data.get("file") or []
        return files


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[
            ("xlsx", _("XLSX workbook (up to 1,048,575 rows per sheet)")),
            ("csv", _("CSV files households.csv and members.csv in a ZIP")),
        ],
        initial="xlsx",
        widget=forms.RadioSelect,
    )
    division = forms.ChoiceField(label=_("Division"), required=False)
    year = forms.IntegerField(
        label=_("Survey year"),
        required=False,
        min_value=2000,
        max_value=2100,
        help_text=_("Empty: each household's latest yearly record."),
    )
    since = forms.DateTimeField(
        label=_("Changed since"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Empty: all households."),
    )
    masked = forms.BooleanField(label=_("Mask id numbers and phones"), required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        selected = str(self.data.get("division", "")) if self.is_bound else ""
        division = self.fields["division"]
        assert isinstance(division, forms.ChoiceField)
        division.choices = division_filter_choices(actor, selected)
        self.masked_forced = masked_export_forced(actor)
        if self.masked_forced:
            masked = self.fields["masked"]
            masked.initial = True
            masked.disabled = True
            masked.help_text = _("Your role sees id numbers and phones masked only.")
