from typing import Any

from django.http import HttpRequest

from fupin.accounts.scope import actor_scope


def actor(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    scope = actor_scope(user)
    return {"actor_scope": scope, "actor_roles": scope.roles}
