"""The audit trail: every service writes one event per change, inside its transaction."""

from dataclasses import dataclass, field
from typing import Any

from fupin.core.models import AuditEvent


@dataclass(frozen=True)
class ChangeSource:
    """Where a change came from: the web, the API, an import file, a device or a command."""

    kind: str = AuditEvent.Source.WEB
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def web(cls) -> "ChangeSource":
        return cls(AuditEvent.Source.WEB)

    @classmethod
    def api(cls) -> "ChangeSource":
        return cls(AuditEvent.Source.API)

    @classmethod
    def command(cls, name: str) -> "ChangeSource":
        return cls(AuditEvent.Source.COMMAND, {"command": name})

    @classmethod
    def import_file(cls, *, file_name: str, checksum: str) -> "ChangeSource":
        return cls(AuditEvent.Source.IMPORT, {"file_name": file_name, "sha256": checksum})

    @classmethod
    def device(cls, device_id: str) -> "ChangeSource":
        return cls(AuditEvent.Source.DEVICE, {"device": device_id})


def changed_fields(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep only the keys whose values differ, so the trail shows what changed."""
    keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys if k in before}, {
        k: after.get(k) for k in keys if k in after
    }


def audit_record(
    *,
    actor: Any,
    action: str,
    entity: str,
    entity_key: str,
    source: ChangeSource,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    household_no: str = "",
    division_path: str = "",
) -> AuditEvent:
    """Write one audit event. Call it inside the service's transaction."""
    actor_obj = actor if getattr(actor, "pk", None) else None
    return AuditEvent.objects.create(
        actor=actor_obj,
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        entity=entity,
        entity_key=entity_key,
        household_no=household_no,
        division_path=division_path,
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        source=source.kind,
        source_detail=source.detail,
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or isinstance(value, bool | int | float | str | list | dict):
            out[key] = value
        else:
            out[key] = str(value)
    return out
