from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Everything is served by the app itself: no CDN, no inline script.
_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", _POLICY)
        return response


class DefaultLanguageMiddleware:
    """Pages open in Chinese (zh-hans) unless the person chose English with the switch.

    Browsers on office machines often send an English Accept-Language; the platform's working
    language is Chinese, so pages ignore that header and follow only the language cookie. The API
    keeps honouring Accept-Language for systems that ask for English.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
