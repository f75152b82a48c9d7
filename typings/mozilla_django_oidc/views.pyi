# mozilla-django-oidc: the two views integrations/sso.py wraps.
from typing import Any

from django.views.generic import View

class OIDCAuthenticationRequestView(View):
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...

class OIDCAuthenticationCallbackView(View):
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
