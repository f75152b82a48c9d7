from django import forms

from .models import Postmortem


class StartPostmortemForm(forms.Form):
    template = forms.ChoiceField(
        label="Template",
        choices=Postmortem.Template.choices,
        initial=Postmortem.Template.FULL,
    )
