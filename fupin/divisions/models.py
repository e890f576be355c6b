from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    PROVINCE = "province", _("province")
    CITY = "city", _("city")
    COUNTY = "county", _("county")
    TOWNSHIP = "township", _("township")
    VILLAGE = "village", _("village")
    GROUP = "group", _("group")


LEVEL_RANK = {level.value: rank for rank, level in enumerate(Level)}


def subtree_q(path: str, field: str = "path") -> Q:
    """Rows whose materialised path lies under ``path`` (itself included).

    A range on the indexed path column instead of LIKE, so both SQLite and PostgreSQL use the
    index: every path ends with '/', and '0' is the character after '/'.
    """
    return Q(**{f"{field}__gte": path, f"{field}__lt": path[:-1] + "0"})


class DivisionQuerySet(models.QuerySet["Division"]):
    def subtree(self, path: str) -> "DivisionQuerySet":
        return self.filter(subtree_q(path))

    def within_any(self, paths: list[str]) -> "DivisionQuerySet":
        condition = Q(pk__in=[])
        for path in paths:
            condition |= subtree_q(path)
        return self.filter(condition)


class Division(models.Model):
    """An administrative division (行政区划): province, city, county, township, village or group.

    ``code`` is the 12-digit statistical code. ``path`` lists the codes from the root down to
    this division (``370000000000/371500000000/…/``) so a subtree is one index range.
    """

    code = models.CharField(_("division code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=160, unique=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    # 农村户籍人口: the denominator of the poverty incidence (贫困发生率, domain.md §5.1). Kept on
    # villages; a township's or county's figure is the sum over its villages.
    rural_population = models.PositiveIntegerField(
        _("registered rural population"), null=True, blank=True
    )

    objects = DivisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"], name="division_level_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def ancestor_codes(self) -> list[str]:
        return [c for c in self.path.split("/") if c]


class DivisionChange(models.Model):
    """A change of a division's name, level or parent, kept as history (区划变更)."""

    division = models.ForeignKey(
        Division, verbose_name=_("division"), on_delete=models.CASCADE, related_name="changes"
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    field = models.CharField(_("field"), max_length=20)
    old_value = models.CharField(_("old value"), max_length=160)
    new_value = models.CharField(_("new value"), max_length=160)
    source_file = models.CharField(_("source file"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("division change")
        verbose_name_plural = _("division changes")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.division_id} {self.field}"
