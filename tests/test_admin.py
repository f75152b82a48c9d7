"""Every model in the admin opens: its list, search, filters and add form (where adding is
allowed at all: the revisions and the sign-off record are read-only)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse


@pytest.mark.django_db
def test_every_admin_page_opens(client, make_user, action_item, django_assert_max_num_queries):
    root = make_user("root", is_superuser=True, is_staff=True)
    client.force_login(root)
    request = RequestFactory().get("/")
    request.user = root
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with django_assert_max_num_queries(30):
            assert client.get(changelist).status_code == 200, changelist
        if model_admin.search_fields:
            assert client.get(changelist, {"q": "pool"}).status_code == 200, changelist
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        expected = 200 if model_admin.has_add_permission(request) else 403
        assert client.get(add).status_code == expected, add
