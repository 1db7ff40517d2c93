from django import forms


class ReminderScheduleForm(forms.Form):
    local_time = forms.TimeField(label="Every day at", widget=forms.TimeInput(attrs={"type": "time"}),
                                 error_messages={"invalid": "Enter a time of day, like 09:00."})
