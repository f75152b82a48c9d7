from django import forms

from .models import ActionItem, EmailPreference


class EmailPreferenceForm(forms.ModelForm):
    class Meta:
        model = EmailPreference
        fields = ["weekly_digest"]
        labels = {"weekly_digest": "Send me the weekly digest of my teams' follow-up work"}


class ActionItemStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItem.Status.choices)
