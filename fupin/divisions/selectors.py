from fupin.divisions.models import Division, DivisionQuerySet


def division_get_by_code(code: str) -> Division | None:
    """A division by its 12-digit code, or None. Divisions are public reference data."""
    return Division.objects.filter(code=code).first()


def division_subtree(division: Division) -> DivisionQuerySet:
    """The division and every division below it."""
    return Division.objects.subtree(division.path)


def division_children(division: Division | None) -> DivisionQuerySet:
    if division is None:
        return Division.objects.filter(parent__isnull=True)
    return Division.objects.filter(parent=division)
