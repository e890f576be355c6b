import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """A background import or export of an exchange package (数据导入/导出任务).

    The database is the queue: a job is queued, claimed by one worker (a conditional UPDATE, see
    ``fupin.exchange.jobs``), running with a heartbeat and progress, then done or failed. Imports
    and exports share the table, the queue and the pages; ``kind`` says which. Files live under
    the data folder (paths stored relative to it) and are served only through views that check
    access. ``division_path`` is the area the job acts on (the exported division, or the area the
    creator may import into): administrators see the jobs inside their own subtree.
    """

    class Kind(models.TextChoices):
        IMPORT = "import", _("import")
        EXPORT = "export", _("export")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="exchange_jobs",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    division_path = models.CharField(_("division path"), max_length=160, blank=True)
    # mode, dry_run (import); format, division_code, since, year, masked (export); source.
    params = models.JSONField(_("parameters"), default=dict)

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=40, blank=True)
    progress_done = models.BigIntegerField(_("done"), default=0)
    progress_total = models.BigIntegerField(_("total"), default=0)

    # The uploaded package (import): its original name, where it is kept, checksum and size.
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_path = models.CharField(_("file path"), max_length=500, blank=True)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    file_size = models.BigIntegerField(_("file size"), null=True, blank=True)

    # The outcome: the export's file, the import's report (exchange-format §6, Chinese messages)
    # or the export's counts, the error workbook, and why a job failed.
    result_path = models.CharField(_("result file"), max_length=500, blank=True)
    report = models.JSONField(_("report"), null=True, blank=True)
    error_workbook_path = models.CharField(_("error workbook"), max_length=500, blank=True)
    error = models.JSONField(_("error"), null=True, blank=True)

    claimed_by = models.CharField(_("claimed by"), max_length=200, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("exchange job")
        verbose_name_plural = _("exchange jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="job_queue"),
            models.Index(fields=["created_by", "-created_at"], name="job_creator"),
            models.Index(fields=["division_path", "-created_at"], name="job_division"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.public_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
